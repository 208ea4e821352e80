// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/delivery.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <span>

#include "app/outcome_text.hpp"
#include "app/route.hpp"
#include "app/quarantine.hpp"
#include "app/settings.hpp"
#include "app/virus_action.hpp"
#include "core/headers.hpp"
#include "deliver/deliver.hpp"

namespace clamfetch::app {

void AccountRun::fail(Error e) {
  std::lock_guard lock(mutex);
  if (stops(e) >= Stops::account) stop = true;
  error = std::move(e);
}

bool AccountRun::stopped() {
  {
    std::lock_guard lock(mutex);
    if (stop) return true;
  }
  return ledger != nullptr && ledger->stopped();
}

void AccountRun::wait_idle() {
  std::unique_lock lock(mutex);
  idle.wait(lock, [&] { return in_flight == 0; });
}

namespace {

// What became of one message, for the log lines and the UID store.
struct Result {
  bool acknowledge = false;   // may leave the server
  std::string result;         // delivered | diverted | dropped | deferred | bounced | postmaster
  deliver::Reply reply;
  std::optional<Error> error;
  std::vector<std::string> accepted_now;  // have it while others are retried: recorded
  std::string recipients;                 // "a@x:250,b@x:550" for the delivery line
  bool backoff = false;    // the failure is the message's own: back off, tell the postmaster
  std::string remedy;      // what resolves such a failure, for the postmaster's notice
};

Result handed_on(std::string result, deliver::Reply reply = {}) {
  Result r;
  r.acknowledge = true;
  r.result = std::move(result);
  r.reply = std::move(reply);
  return r;
}

Result left_on_server(Error error, deliver::Reply reply = {}) {
  Result r;
  r.result = "deferred";
  r.reply = std::move(reply);
  r.error = std::move(error);
  return r;
}

const char* kVersion = CLAMFETCH_VERSION;

// The message as the scan guard knows it: account, folder, UID.
std::string guard_id(const Job& job) {
  return scan::scan_identity(account_key(*job.account->poll, *job.account->user), job.ref.folder, job.ref.uid);
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
          const std::string& quarantine_dir, Log& log, const TransportFactory& transports, scan::ScanGuard* guard)
      : config_(config), scanner_(scanner), allowlist_(allowlist), log_(log), host_(host_name()),
        make_transport_(transports), quarantine_(quarantine_dir), guard_(guard) {}
  ~Handler() {
    for (auto& [name, transport] : transports_) transport->close();
  }

  void handle(Job& job);

 private:
  Verdict scan(const Job& job);
  Verdict guarded_scan(const Job& job, const std::string& id);
  Result dispatch(const Job& job, const Verdict& verdict);
  Result deliver_clean(const Job& job, const Verdict& verdict);
  bool retry_from_null_sender(const Job& job, const deliver::Envelope& env, const deliver::Outcome& outcome);
  Result divert(const Job& job, const Verdict& verdict);
  Result refused(const Job& job, const MtaDecision& decision, Result r);
  std::vector<std::string> remaining_recipients(const Job& job);
  clamfetch::Result<deliver::Outcome> notify_postmaster(const Job& job, deliver::RefusalFacts& facts);
  Status quarantine_refused(const Job& job, deliver::RefusalFacts& facts);
  void defer_with_backoff(const Job& job, const Verdict& verdict, const Result& r);
  void conclude(Handover& handover, Result& r, AccountRun& acct);
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
  const TransportFactory& make_transport_;
  std::map<std::string, std::unique_ptr<deliver::Transport>> transports_;
  Handover* handover_ = nullptr;  // the job's hand-over (the transports' gate), during dispatch
  Quarantine quarantine_;
  scan::ScanGuard* guard_;
};

Verdict Handler::scan(const Job& job) {
  Verdict v;
  if (scanner_ == nullptr) {
    v.status = Verdict::Status::not_scanned;
  } else if (allowlist_.skips(job.message.return_path, job.message.recipients)) {
    // Only a Return-Path counts: a From: that made the envelope sender is anyone's to forge.
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
  if (auto standing = guard_->standing(id); standing != scan::ScanGuard::Standing::fine) {
    Verdict v;
    v.status = Verdict::Status::error;
    v.reason = standing == scan::ScanGuard::Standing::hung
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
  if (!transport) transport = make_transport_(user, host_, log_);
  // Only the message's own hand-over decides whether the final "." may go (handover.hpp);
  // notices sent outside one (the deferral notice) pass.
  transport->set_end_of_data_gate(handover_);
  auto outcome = transport->send(env, parts);
  transport->set_end_of_data_gate(nullptr);
  return outcome;
}

// The account's recipients that do not have the message yet: an earlier poll may have
// delivered it to some while others answered 4xx (recorded in the UID store).
std::vector<std::string> Handler::remaining_recipients(const Job& job) {
  const auto& all = job.message.recipients;
  std::vector<std::string> had = job.account->ledger->accepted(job.ref);
  if (had.empty()) return all;
  std::vector<std::string> out;
  for (const auto& r : all) {
    if (std::find(had.begin(), had.end(), r) == had.end()) out.push_back(r);
  }
  return out;
}

// A sender derived from From: or Sender: (no Return-Path) that the MTA refuses at MAIL FROM
// (reject_unknown_sender_domain, a sender policy) is no reason to keep or divert the message:
// it goes again from "<>", which is what it was sent from before the derivation. Not when an
// antispam code matched (the user asked for such mail to be dropped, as fetchmail does).
bool Handler::retry_from_null_sender(const Job& job, const deliver::Envelope& env,
                                     const deliver::Outcome& outcome) {
  if (outcome.stage != deliver::Outcome::Stage::mail || outcome.local) return false;
  if (fate(outcome.reply) == Fate::delivered) return false;
  if (env.sender.empty() || env.sender == job.message.return_path) return false;
  if (fate(outcome.reply) == Fate::refused && is_antispam(outcome.reply.code, job.account->user->antispam)) {
    return false;
  }
  log_.info(job.account->name + ": message " + job.message.key + ": MAIL FROM <" + env.sender +
            "> (taken from its headers) answered " + reply_text(outcome.reply) + "; sent again from <>");
  return true;
}

Result Handler::deliver_clean(const Job& job, const Verdict& verdict) {
  const auto& user = *job.account->user;
  std::vector<std::string> recipients = remaining_recipients(job);
  if (recipients.empty()) return handed_on("delivered (by an earlier poll)");
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
                               recipients.front(), std::time(nullptr), job.message.server_address};
    head = deliver::add_received(head, info);
  }
  const std::string_view parts[] = {head, original.substr(split)};
  deliver::Envelope env{job.message.envelope_from, recipients};
  auto outcome = send(user, env, parts);
  if (retry_from_null_sender(job, env, outcome)) {
    env.sender.clear();
    outcome = send(user, env, parts);
  }
  // Bounces go only to a Return-Path: a sender taken from From: may be forged or unable to
  // receive, and a bounce past its size limit carries the header only (the postmaster path
  // keeps the original in the quarantine instead).
  auto decision = decide_delivery(outcome, recipients, user.antispam, config_.global.bouncemail,
                                  job.message.return_path);
  Result r;
  r.reply = outcome.reply;
  r.recipients = recipient_replies(outcome, recipients);
  switch (decision.next) {
    case MtaDecision::Next::acknowledge:
      r.acknowledge = true;
      r.result = "delivered";
      return r;
    case MtaDecision::Next::drop_spam:
      r.acknowledge = true;
      r.result = "dropped (antispam)";
      log_.info(job.account->name + ": message " + job.message.key +
                " dropped as spam: MAIL FROM answered " + reply_text(outcome.reply) +
                " (a code in antispam)");
      return r;
    case MtaDecision::Next::keep:
      r.result = decision.delivered.empty() ? "deferred" : "partly delivered, deferred";
      r.accepted_now = decision.delivered;
      r.error = make_error(Kind::mta, Scope::message,
                           "MTA " + user.smtphost.text + " did not accept the message " + job.message.key +
                               (decision.delivered.empty() ? "" : " for every recipient") + ": " +
                               reply_text(outcome.reply) + ", left on the server");
      return r;
    case MtaDecision::Next::notify:
      return refused(job, decision, std::move(r));
  }
  return r;
}

// The MTA refused the message permanently for some recipients: tell the sender (bouncemail)
// or the postmaster, and acknowledge the original only once that notice was accepted. A
// postmaster notice that cannot carry the original (the MTA refused it for its size, or
// refuses the notice) keeps the original in the quarantine and attaches its header only:
// someone must have the message before it leaves the server.
Result Handler::refused(const Job& job, const MtaDecision& decision, Result r) {
  const auto& user = *job.account->user;
  deliver::RefusalFacts facts;
  facts.key = job.message.key;
  facts.sender = job.message.envelope_from;
  facts.postmaster = postmaster_address(config_);
  facts.reporting_host = host_;
  facts.version = kVersion;
  for (const auto& [rcpt, reply] : decision.refused) {
    facts.recipients.push_back(rcpt);
    facts.replies.push_back(reply);
  }
  facts.reply = facts.replies.front();
  facts.when = std::time(nullptr);
  r.accepted_now = decision.delivered;  // kept on any failure below: they have it already
  std::string what = "to postmaster";
  clamfetch::Result<deliver::Outcome> second = deliver::Outcome{};
  if (decision.notice == MtaDecision::Notice::bounce) {
    what = "bounced";
    second = send(user, deliver::Envelope{"", {facts.sender}}, deliver::build_bounce(facts, job.message.data));
    // A bounce the MTA refuses for good (a forged sender in a local domain, an address it
    // rejects) would be refused on every poll: the postmaster gets the notice instead.
    if (!accepted(*second) && fate(second->reply) == Fate::refused) {
      what = "to postmaster (bounce refused: " + std::to_string(second->reply.code) + ")";
      second = notify_postmaster(job, facts);
    }
  } else {
    second = notify_postmaster(job, facts);
  }
  if (!second) {
    r.result = "deferred";
    r.error = second.error();
    return r;
  }
  if (accepted(*second)) {
    r.acknowledge = true;
    r.accepted_now.clear();
    r.result = (decision.delivered.empty() ? "" : "delivered, ") + what +
               (facts.quarantine_id.empty() ? "" : ", quarantined as " + facts.quarantine_id);
    return r;
  }
  r.result = "deferred";
  r.backoff = fate(second->reply) == Fate::refused;
  r.remedy = "make the MTA accept mail to " + facts.postmaster + " (it answered " +
             reply_text(second->reply) + ")";
  r.error = make_error(Kind::mta, Scope::message,
                       "MTA refused " + job.message.key + " (" + reply_text(facts.reply) +
                           ") and the notice about it was not accepted either (" +
                           reply_text(second->reply) + "), left on the server");
  return r;
}

// The postmaster's notice about a refused message, with the original attached; when the MTA
// refused the original for its size, or refuses the notice for good, the original goes into
// the quarantine first and the notice carries its header only: someone must have the message
// before it leaves the server. Errors: the quarantine could not be written.
clamfetch::Result<deliver::Outcome> Handler::notify_postmaster(const Job& job, deliver::RefusalFacts& facts) {
  const auto& user = *job.account->user;
  deliver::Envelope env{"", {facts.postmaster}};
  if (too_big(facts.reply)) {
    if (auto kept = quarantine_refused(job, facts); !kept) return kept.error();
  }
  auto notice = send(user, env, deliver::build_refusal_notice(facts, job.message.data));
  if (!accepted(notice) && !facts.headers_only && fate(notice.reply) == Fate::refused) {
    if (auto kept = quarantine_refused(job, facts); !kept) return kept.error();
    notice = send(user, env, deliver::build_refusal_notice(facts, job.message.data));
  }
  return notice;
}

// The original of a refused message into the quarantine, so that the postmaster's notice can
// go without it: sets facts.headers_only and the quarantine id. Errors: Kind::state.
Status Handler::quarantine_refused(const Job& job, deliver::RefusalFacts& facts) {
  const auto& m = job.message;
  QuarantineEntry entry;
  entry.date = facts.when;
  entry.account = job.account->name;
  entry.key = m.key;
  entry.uid = m.uid;
  entry.uidvalidity = job.ref.uidvalidity;
  entry.sender = m.envelope_from;
  entry.recipients = facts.recipients;
  entry.virus = "(not a virus: refused by the MTA, " + reply_text(facts.reply).substr(0, 120) + ")";
  entry.size = m.data.size();
  entry.message_id = headers::value(m.data, "Message-ID");
  entry.subject = headers::value(m.data, "Subject");
  // A quarantine that cannot be written keeps this message on the server; the other
  // messages and accounts go on (their own writes report their own failures).
  auto stored = quarantine_.put(std::move(entry), m.data);
  if (!stored) return with_scope(stored.error(), Scope::message);
  facts.headers_only = true;
  facts.quarantine_id = stored->id;
  facts.release_command = "clamfetch --release " + stored->id + " --to ADDRESS";
  return {};
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
  if (!stored) return left_on_server(with_scope(stored.error(), Scope::message));
  if (stored->reported) return handed_on("already quarantined as " + stored->id);
  facts.quarantine_id = stored->id;
  facts.release_command = "clamfetch --release " + stored->id;

  if (!config_.scan.virus_action.empty()) run_virus_action(config_.scan.virus_action, facts, log_);
  deliver::Envelope env{"", {facts.postmaster}};
  auto outcome = send(user, env, deliver::build_report(facts, m.data));
  if (!accepted(outcome) && fate(outcome.reply) == Fate::refused) {
    // Refused for good (too big for the MTA, typically): the quarantine has the original, so
    // the report goes with its header only instead of failing the same way every poll.
    facts.headers_only = true;
    outcome = send(user, env, deliver::build_report(facts, m.data));
  }
  if (!accepted(outcome)) {
    Result r = left_on_server(make_error(Kind::mta, Scope::message,
                                         "postmaster report for " + m.key +
                                             " not accepted: " + reply_text(outcome.reply)),
                              outcome.reply);
    r.backoff = fate(outcome.reply) == Fate::refused;
    r.remedy = "make the MTA accept mail to " + facts.postmaster;
    return r;
  }
  if (auto marked = quarantine_.mark_reported(stored->id); !marked) {
    return left_on_server(marked.error(), outcome.reply);
  }
  return handed_on("diverted to " + facts.postmaster + ", quarantined as " + stored->id, outcome.reply);
}

// A message that failed through its own fault: noted in the UID store, so that the next polls
// leave it alone for a while (UidStore::next_attempt), and the postmaster told once, with the
// reason and what resolves it. Failures here are logged, never fatal: the message stays on
// the server whatever happens.
void Handler::defer_with_backoff(const Job& job, const Verdict& verdict, const Result& r) {
  auto& acct = *job.account;
  std::time_t now = std::time(nullptr);
  std::string reason = r.error ? r.error->text : describe(verdict);
  auto noted = acct.ledger->note_deferral(job.ref, now, reason);
  if (!noted) {
    log_.error(acct.name + ": " + noted.error().text);
    return;
  }
  std::time_t next = fetch::UidStore::next_attempt(*noted);
  log_.info(acct.name + ": message " + job.message.key + " deferred " + std::to_string(noted->count) +
            " time" + (noted->count == 1 ? "" : "s") + ", next attempt at " + deliver::rfc5322_date(next));
  if (noted->notified) return;
  deliver::DeferralFacts facts;
  facts.key = job.message.key;
  facts.account = acct.name;
  facts.sender = job.message.envelope_from;
  facts.subject = headers::value(job.message.data, "Subject");
  facts.message_id = headers::value(job.message.data, "Message-ID");
  facts.postmaster = postmaster_address(config_);
  facts.reporting_host = host_;
  facts.version = kVersion;
  facts.recipients = job.message.recipients;
  facts.reason = reason;
  facts.attempts = noted->count;
  facts.first = noted->first;
  facts.next = next;
  facts.when = now;
  facts.remedy = r.remedy;
  auto sent = send(*acct.user, deliver::Envelope{"", {facts.postmaster}}, deliver::build_deferral_notice(facts));
  if (!accepted(sent)) {
    log_.error(acct.name + ": the postmaster's notice about " + job.message.key +
               " was not accepted: " + reply_text(sent.reply));
    return;
  }
  if (auto marked = acct.ledger->mark_notified(job.ref); !marked) {
    log_.error(acct.name + ": " + marked.error().text);
  }
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
  if (!r.recipients.empty()) line += " rcpt=" + r.recipients;
  log_.verbose(line);
  bool infected = verdict.status == Verdict::Status::infected;
  rc::LogDetail detail = infected ? config_.scan.log_infected : config_.scan.log_clean;
  bool scanned = infected || verdict.status == Verdict::Status::clean;
  if (scanned && detail != rc::LogDetail::off) log_.info(scan_detail(acct.name, job.ref.uid, job.message, verdict, detail));
  if (r.error) log_.error(acct.name + ": " + r.error->text);
}

Result Handler::dispatch(const Job& job, const Verdict& verdict) {
  switch (route(verdict, config_.scan)) {
    case Route::deliver: return deliver_clean(job, verdict);
    case Route::divert: return divert(job, verdict);
    case Route::drop: return handed_on("discarded");
    case Route::defer: break;
  }
  Result r = left_on_server(make_error(Kind::scan, Scope::message,
                                       "message " + job.message.key + " left on the server: " + describe(verdict)));
  // A scanner that is down fails every message alike: retried every poll. A failure of this
  // message (it hung or crashed the scanner, hit a limit) would recur: back off.
  r.backoff = !verdict.scanner_fault;
  r.remedy = scan_remedy(verdict);
  return r;
}

// The hand-over's end: the UID recorded when the message was handed on (or who has it when
// only some recipients took it); it may be acknowledged only if that record was made.
void Handler::conclude(Handover& handover, Result& r, AccountRun& acct) {
  if (r.acknowledge) {
    if (auto recorded = handover.handed_on(); !recorded) {
      r.error = recorded.error();
      acct.fail(recorded.error());
    }
  } else if (!r.accepted_now.empty()) {
    // Some recipients have it, others are retried: the retry must not give them a second copy.
    if (auto noted = handover.partly_accepted(r.accepted_now); !noted) {
      r.error = noted.error();
      acct.fail(noted.error());
    }
  }
  r.acknowledge = handover.finish();
}

void Handler::handle(Job& job) {
  auto& acct = *job.account;
  // A stopped account (its UID store cannot be written) hands nothing more to the MTA, since
  // no more deliveries could be recorded: the message stays on the server.
  if (acct.stopped()) return;
  Verdict verdict = scan(job);
  // From the end of DATA to the UID record, one message of the account at a time (the
  // transport asks the hand-over right before it writes the final "."), while the transfers
  // themselves still overlap.
  Handover handover(*acct.ledger, job.ref);
  handover_ = &handover;
  Result r = dispatch(job, verdict);
  handover_ = nullptr;
  conclude(handover, r, acct);
  if (r.acknowledge && guard_ != nullptr) guard_->forget(guard_id(job));
  log_outcome(job, verdict, r);
  if (!r.acknowledge && r.backoff && !acct.stopped()) defer_with_backoff(job, verdict, r);
  std::lock_guard lock(acct.mutex);
  if (r.acknowledge) {
    ++acct.retrieved;
  } else if (r.error && !acct.stop) {
    // Once the account is stopped its error (the state failure) is what the run reports.
    acct.error = r.error;
  }
}

}  // namespace

DeliveryPool::DeliveryPool(const rc::Config& config, scan::Scanner* scanner,
                           const scan::Allowlist& allowlist, std::string quarantine_dir, Log& log,
                           TransportFactory transports, scan::ScanGuard* guard)
    : config_(config), scanner_(scanner), allowlist_(allowlist), quarantine_dir_(std::move(quarantine_dir)), log_(log),
      transports_(std::move(transports)), guard_(guard),
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
  Handler handler(config_, scanner_, allowlist_, quarantine_dir_, log_, transports_, guard_);
  while (auto job = queue_.pop()) {
    handler.handle(*job);
    auto& acct = *job->account;
    std::lock_guard lock(acct.mutex);
    if (--acct.in_flight == 0) acct.idle.notify_all();
  }
}

}  // namespace clamfetch::app
