#include "app/delivery.hpp"

#include <cstdint>
#include <ctime>
#include <map>
#include <span>

#include "app/route.hpp"
#include "app/quarantine.hpp"
#include "app/settings.hpp"
#include "app/test_hooks.hpp"
#include "app/virus_action.hpp"
#include "core/headers.hpp"
#include "deliver/deliver.hpp"

namespace clamfetch::app {

void AccountRun::fail(Error e, bool fatal) {
  std::lock_guard lock(mutex);
  error = std::move(e);
  if (fatal) stop = true;
}

bool AccountRun::stopped() {
  std::lock_guard lock(mutex);
  return stop;
}

void AccountRun::wait_idle() {
  std::unique_lock lock(mutex);
  idle.wait(lock, [&] { return in_flight == 0; });
}

namespace {

// What became of one message, for the log lines.
struct Result {
  bool acknowledge = false;   // may leave the server
  std::string result;         // delivered | diverted | dropped | deferred | bounced | postmaster
  deliver::Reply reply;
  std::optional<Error> error;
};

const char* kVersion = CLAMFETCH_VERSION;

// The lock serialising record() on one UID store: a fixed set of mutexes picked by the
// store's address, so accounts polled in parallel rarely share one and AccountRun keeps its
// layout.
std::mutex& store_mutex(const fetch::UidStore* store) {
  static std::mutex stripes[16];
  return stripes[(reinterpret_cast<std::uintptr_t>(store) / alignof(fetch::UidStore)) % 16];
}

// The message as the scan guard knows it: account, folder, UID.
std::string guard_id(const Job& job) {
  return scan_identity(account_key(*job.account->poll, *job.account->user), job.ref.folder, job.ref.uid);
}

// The message as a person reads it, for the watchdog's log line.
std::string guard_label(const Job& job) {
  return job.message.key + " (account " + job.account->name + ", folder " + job.ref.folder +
         ", UID " + job.ref.uid + ")";
}

// One worker's state: its MTA connections, by target.
class Handler {
 public:
  Handler(const rc::Config& config, scan::Scanner* scanner, const scan::Allowlist& allowlist,
          const std::string& quarantine_dir, Log& log, ScanGuard* guard)
      : config_(config), scanner_(scanner), allowlist_(allowlist), log_(log), host_(host_name()),
        quarantine_(quarantine_dir), guard_(guard) {}
  ~Handler() {
    for (auto& [name, transport] : transports_) transport->close();
  }

  void handle(Job& job);

 private:
  Verdict scan(const Job& job);
  Verdict guarded_scan(const Job& job, const std::string& id);
  Result dispatch(const Job& job, const Verdict& verdict);
  Result deliver_clean(const Job& job, const Verdict& verdict);
  Result divert(const Job& job, const Verdict& verdict);
  Result refused(const Job& job, const deliver::Outcome& outcome, AfterMta after);
  deliver::Outcome send(const rc::User& user, const deliver::Envelope& env, std::string_view data) {
    return send(user, env, std::span<const std::string_view>(&data, 1));
  }
  deliver::Outcome send(const rc::User& user, const deliver::Envelope& env,
                        std::span<const std::string_view> parts);
  std::string scanned_by() const;
  void log_outcome(const Job& job, const Verdict& verdict, const Result& r);

  const rc::Config& config_;
  scan::Scanner* scanner_;
  const scan::Allowlist& allowlist_;
  Log& log_;
  std::string host_;
  std::map<std::string, std::unique_ptr<deliver::Transport>> transports_;
  std::unique_lock<std::mutex>* handover_ = nullptr;  // the job's account lock, during handle()
  AccountRun* current_ = nullptr;                     // the job's account, during handle()
  bool in_gate_ = false;  // admitted by the guard's HandoverGate, until the UID is recorded
  Quarantine quarantine_;
  ScanGuard* guard_;
};

Verdict Handler::scan(const Job& job) {
  Verdict v;
  if (scanner_ == nullptr) {
    v.status = Verdict::Status::not_scanned;
  } else if (allowlist_.skips(job.message.envelope_from, job.message.recipients)) {
    v.status = Verdict::Status::allowlisted;
  } else if (guard_ != nullptr) {
    v = guarded_scan(job, guard_id(job));
  } else {
    v = scanner_->scan(job.message.data);
  }
  return v;
}

// The scan, written down and watched while it runs (scan_guard.hpp): a message that killed
// the scanner or hung it in an earlier run is not scanned again but fails, so on_fail decides
// and the rest flows.
Verdict Handler::guarded_scan(const Job& job, const std::string& id) {
  if (auto standing = guard_->standing(id); standing != ScanGuard::Standing::fine) {
    Verdict v;
    v.status = Verdict::Status::error;
    v.reason = standing == ScanGuard::Standing::hung
                   ? "scan hung on this message in an earlier run"
                   : "scanner crashed on this message in an earlier run";
    return v;
  }
  // The first scan loads the engine (seconds with the real database): a death then is no
  // message's fault, so the load happens before anything is written down.
  if (!scanner_->loaded()) {
    auto watch = guard_->watch_unblamed("loading the signature database " + config_.scan.database);
    (void)scanner_->scan("");
  }
  auto scanning = guard_->begin(id, guard_label(job));
  return scanner_->scan(job.message.data);
}

std::string Handler::scanned_by() const {
  const std::string& host = config_.scan.report_hostname.empty() ? host_ : config_.scan.report_hostname;
  std::string engine = scanner_ != nullptr ? scanner_->engine_version() : "scanning disabled";
  return std::string("clamfetch ") + kVersion + " (" + engine + ") on " + host;
}

deliver::Outcome Handler::send(const rc::User& user, const deliver::Envelope& env,
                               std::span<const std::string_view> parts) {
  auto& transport = transports_[user.smtphost.text];
  if (!transport) transport = deliver::make_transport(deliver_settings(user.smtphost, user, host_), log_);
  transport->set_before_end_of_data([this] {
    if (handover_ == nullptr) return true;
    if (!handover_->owns_lock()) handover_->lock();
    // A hung scan is ending the process: nothing new may reach the MTA, since its 2xx might
    // not be recorded in time (the message stays on the server).
    if (guard_ != nullptr && !in_gate_) {
      if (!guard_->handovers().enter()) return false;
      in_gate_ = true;
    }
    // The account's UID store failed meanwhile: this delivery could not be recorded, so it
    // is abandoned before the MTA can take it (the message stays on the server).
    return current_ == nullptr || !current_->stopped();
  });
  return transport->send(env, parts);
}

Result Handler::deliver_clean(const Job& job, const Verdict& verdict) {
  const auto& user = *job.account->user;
  // Both edits touch only the header block: edit a copy of it and send it followed by the
  // untouched body, so a 50 MB message is not copied here at all.
  std::string_view original = job.message.data;
  std::size_t split = headers::header_end(original);
  std::string head(original.substr(0, split));
  if (config_.scan.add_header != rc::AddHeader::no) {
    auto mode = config_.scan.add_header == rc::AddHeader::add ? scan::HeaderMode::add : scan::HeaderMode::replace;
    head = scan::apply_virus_headers(head, mode, verdict, scanned_by());
  }
  if (!config_.global.invisible) {
    deliver::ReceivedInfo info{job.message.server, host_, job.message.protocol, kVersion,
                               job.message.recipients.front(), std::time(nullptr)};
    head = deliver::add_received(head, info);
  }
  const std::string_view parts[] = {head, original.substr(split)};
  deliver::Envelope env{job.message.envelope_from, job.message.recipients};
  auto outcome = send(user, env, parts);
  auto after = after_delivery(outcome, user.antispam, config_.global.bouncemail, env.sender);
  if (after == AfterMta::acknowledge) {
    bool spam = outcome.status != deliver::Outcome::Status::delivered;
    return {true, spam ? "dropped (antispam)" : "delivered", outcome.reply, {}};
  }
  if (after == AfterMta::keep) {
    Result r{false, "deferred", outcome.reply, {}};
    r.error = make_error(Kind::mta, Scope::message,
                         "MTA " + user.smtphost.text + " did not accept the message: " +
                             (outcome.reply.code != 0 ? std::to_string(outcome.reply.code) + " " : "") +
                             outcome.reply.text);
    return r;
  }
  return refused(job, outcome, after);
}

// The MTA refused the message permanently: tell the sender (bouncemail) or the postmaster,
// and acknowledge the original only once that notice was accepted.
Result Handler::refused(const Job& job, const deliver::Outcome& outcome, AfterMta after) {
  const auto& user = *job.account->user;
  deliver::RefusalFacts facts;
  facts.key = job.message.key;
  facts.sender = job.message.envelope_from;
  facts.postmaster = postmaster_address(config_);
  facts.reporting_host = host_;
  facts.version = kVersion;
  facts.recipients = job.message.recipients;
  facts.reply = outcome.reply;
  facts.when = std::time(nullptr);
  bool bounce = after == AfterMta::bounce;
  std::string notice = bounce ? deliver::build_bounce(facts, job.message.data)
                              : deliver::build_refusal_notice(facts, job.message.data);
  deliver::Envelope env{"", {bounce ? facts.sender : facts.postmaster}};
  auto second = send(user, env, notice);
  Result r{after_secondary(second) == AfterMta::acknowledge, bounce ? "bounced" : "to postmaster",
           outcome.reply, {}};
  if (!r.acknowledge) {
    r.result = "deferred";
    r.error = make_error(Kind::mta, Scope::message,
                         "MTA refused the message (" + std::to_string(outcome.reply.code) +
                             ") and the notice could not be delivered either");
  }
  return r;
}

// Infected mail: the original into the quarantine, a report to the postmaster; the
// original leaves the server only after both. A rerun after a kill finds the entry and
// does not report twice.
Result Handler::divert(const Job& job, const Verdict& verdict) {
  const auto& user = *job.account->user;
  const auto& m = job.message;
  deliver::ReportFacts facts;
  facts.virus = verdict.status == Verdict::Status::infected ? verdict.virus : describe(verdict);
  facts.key = m.key;
  facts.message_id = headers::value(m.data, "Message-ID");
  facts.date = headers::value(m.data, "Date");
  facts.subject = headers::value(m.data, "Subject");
  facts.sender = m.envelope_from;
  facts.recipients = m.recipients;
  facts.scan_host = config_.scan.report_hostname.empty() ? host_ : config_.scan.report_hostname;
  facts.scanned_at = std::time(nullptr);
  facts.postmaster = postmaster_address(config_);
  facts.version = kVersion;

  QuarantineEntry entry{"", facts.scanned_at, job.account->name, m.key, m.uid, m.envelope_from,
                        m.recipients, facts.virus, m.data.size(), facts.message_id, facts.subject, false};
  // Part of the entry's identity: the same UID and size after a UIDVALIDITY reset is
  // another message (a POP3 UIDL reuse is told apart by the digest of the bytes alone).
  entry.uidvalidity = job.ref.uidvalidity;
  auto stored = quarantine_.put(std::move(entry), m.data);
  if (!stored) return {false, "deferred", {}, stored.error()};
  if (stored->reported) return {true, "already quarantined as " + stored->id, {}, {}};
  facts.quarantine_id = stored->id;
  facts.release_command = "clamfetch --release " + stored->id;

  if (!config_.scan.virus_action.empty()) run_virus_action(config_.scan.virus_action, facts, log_);
  std::string report = deliver::build_report(facts, m.data);
  auto outcome = send(user, deliver::Envelope{"", {facts.postmaster}}, report);
  if (after_secondary(outcome) != AfterMta::acknowledge) {
    return {false, "deferred", outcome.reply,
            make_error(Kind::mta, Scope::message,
                       "postmaster report for " + m.key + " not accepted: " + outcome.reply.text)};
  }
  if (auto marked = quarantine_.mark_reported(stored->id); !marked) {
    return {false, "deferred", outcome.reply, marked.error()};
  }
  return {true, "diverted to " + facts.postmaster + ", quarantined as " + stored->id, outcome.reply, {}};
}

// clamav-milter's LogInfected / LogClean: basic names account, UID and verdict; full adds
// the envelope, Subject and Message-ID.
std::string scan_detail(const Job& job, const Verdict& verdict, rc::LogDetail detail) {
  const auto& m = job.message;
  std::string line = "scan: account=" + job.account->name + " uid=" + job.ref.uid + " size=" +
                     std::to_string(m.data.size()) + " verdict=" + describe(verdict) +
                     " time=" + std::to_string(static_cast<int>(verdict.seconds * 1000)) + "ms";
  if (detail == rc::LogDetail::full) {
    std::string rcpts;
    for (const auto& r : m.recipients) rcpts += (rcpts.empty() ? "" : ",") + r;
    line += " from=<" + m.envelope_from + "> to=<" + rcpts + "> subject=\"" +
            headers::value(m.data, "Subject") + "\" message-id=" + headers::value(m.data, "Message-ID");
  }
  return line;
}

void Handler::log_outcome(const Job& job, const Verdict& verdict, const Result& r) {
  const auto& acct = *job.account;
  bool flushed = r.acknowledge && !acct.user->keep;
  log_.verbose("reading message " + acct.name + ":" + std::to_string(job.index) + " of " +
               std::to_string(job.total) + " (" + std::to_string(job.message.data.size()) +
               " octets) " + describe(verdict) +
               (r.result.rfind("diverted", 0) == 0 ? ", " + r.result : "") +
               (flushed ? ", flushed" : ", not flushed"));
  std::string line = "delivery account=" + acct.name + " uid=" + job.ref.uid + " from=<" +
                     job.message.envelope_from + "> to=<" + job.message.recipients.front() +
                     "> size=" + std::to_string(job.message.data.size()) + " verdict=" +
                     describe(verdict) + " scan_ms=" +
                     std::to_string(static_cast<long>(verdict.seconds * 1000)) + " result=" + r.result;
  if (r.reply.code != 0) line += " reply=" + std::to_string(r.reply.code);
  log_.verbose(line);
  bool infected = verdict.status == Verdict::Status::infected;
  rc::LogDetail detail = infected ? config_.scan.log_infected : config_.scan.log_clean;
  bool scanned = infected || verdict.status == Verdict::Status::clean;
  if (scanned && detail != rc::LogDetail::off) log_.info(scan_detail(job, verdict, detail));
  if (r.error) log_.error(acct.name + ": " + r.error->text);
}

Result Handler::dispatch(const Job& job, const Verdict& verdict) {
  switch (route(verdict, config_.scan)) {
    case Route::deliver: return deliver_clean(job, verdict);
    case Route::divert: return divert(job, verdict);
    case Route::drop: return {true, "discarded", {}, {}};
    case Route::defer: break;
  }
  return {false, "deferred", {}, make_error(Kind::scan, Scope::message,
                                            "message " + job.message.key + " left on the server: " + describe(verdict))};
}

void Handler::handle(Job& job) {
  auto& acct = *job.account;
  // A stopped account (its UID store cannot be written) hands nothing more to the MTA, since
  // no more deliveries could be recorded: the message stays on the server.
  if (acct.stopped()) return;
  Verdict verdict = scan(job);
  // From the end of DATA to the UID record, one message of the account at a time: a kill
  // then leaves at most one delivered-but-unrecorded message (one duplicate) per account,
  // while the transfers themselves still overlap. The transport takes the lock right before
  // it writes the final "." (see Handler::send).
  std::unique_lock handover(acct.handover, std::defer_lock);
  handover_ = &handover;
  current_ = &acct;
  Result r = dispatch(job, verdict);
  handover_ = nullptr;
  current_ = nullptr;
  if (r.acknowledge) {
    kill_point(KillPoint::after_2xx);
    // Durably note the hand-over before the server may forget the message. Workers of one
    // account record concurrently, and UidStore is not thread-safe.
    std::lock_guard store_lock(store_mutex(acct.store));
    auto recorded = acct.store->record(job.ref.folder, job.ref.uid, !acct.user->keep);
    if (!recorded) {
      r.acknowledge = false;
      r.error = recorded.error();
      acct.fail(recorded.error(), true);
    }
    kill_point(KillPoint::after_record);
  }
  if (in_gate_) {
    guard_->handovers().leave();
    in_gate_ = false;
  }
  if (handover.owns_lock()) handover.unlock();
  if (r.acknowledge && guard_ != nullptr) guard_->forget(guard_id(job));
  log_outcome(job, verdict, r);
  std::lock_guard lock(acct.mutex);
  if (r.acknowledge) {
    acct.handled.push_back(job.ref);
    ++acct.retrieved;
  } else if (r.error && !acct.stop) {
    // Once the account is stopped its error (the state failure) is what the run reports.
    acct.error = r.error;
  }
}

}  // namespace

DeliveryPool::DeliveryPool(const rc::Config& config, scan::Scanner* scanner,
                           const scan::Allowlist& allowlist, std::string quarantine_dir, Log& log, ScanGuard* guard)
    : config_(config), scanner_(scanner), allowlist_(allowlist), quarantine_dir_(std::move(quarantine_dir)), log_(log),
      guard_(guard),
      queue_(2 * config.global.smtp_sessions + 2, 256u << 20) {
  unsigned n = config.global.smtp_sessions == 0 ? 1 : config.global.smtp_sessions;
  for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
}

DeliveryPool::~DeliveryPool() {
  queue_.close();
  for (auto& t : workers_) t.join();
}

void DeliveryPool::submit(Job job) {
  {
    std::lock_guard lock(job.account->mutex);
    ++job.account->in_flight;
  }
  std::size_t bytes = job.message.data.size();
  queue_.push(std::move(job), bytes);
}

void DeliveryPool::work() {
  Handler handler(config_, scanner_, allowlist_, quarantine_dir_, log_, guard_);
  while (auto job = queue_.pop()) {
    handler.handle(*job);
    auto& acct = *job->account;
    std::lock_guard lock(acct.mutex);
    if (--acct.in_flight == 0) acct.idle.notify_all();
  }
}

}  // namespace clamfetch::app
