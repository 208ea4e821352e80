// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/poller.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "app/delivery.hpp"
#include "app/plan.hpp"
#include "app/quarantine.hpp"
#include "app/settings.hpp"
#include "core/headers.hpp"
#include "fetch/fetch.hpp"

namespace clamfetch::app {
namespace {

struct AccountOutcome {
  unsigned retrieved = 0;
  unsigned waiting = 0;          // -c: new messages found
  bool fetchlimit_hit = false;
  std::optional<Error> error;
};

Message make_message(const rc::Poll& poll, const rc::User& user, const fetch::MessageRef& ref,
                     std::string data, std::string server_address) {
  Message m;
  m.uid = ref.uid;
  m.key = poll.server + "/" + user.username + "/" +
          (poll.protocol == rc::Protocol::imap ? ref.folder + "/" : "") + ref.uid;
  m.envelope_from = headers::envelope_sender(data);
  m.return_path = headers::return_path_sender(data);
  m.recipients = user.is;
  m.server = poll.server;
  m.server_address = std::move(server_address);
  m.protocol = poll.protocol == rc::Protocol::imap ? "IMAP" : "POP3";
  m.data = std::move(data);
  return m;
}

// When `path` was last modified (0 if unknown): a deferral the administrator may have
// resolved by editing the rc file is not held back by its back-off.
std::time_t modified(const std::string& path) {
  struct stat st{};
  return !path.empty() && stat(path.c_str(), &st) == 0 ? st.st_mtime : 0;
}

class AccountPoll {
 public:
  /// What every account's poll shares: the poller's state and seams.
  struct Context {
    const rc::Config& config;
    const std::string& state_dir;
    Log& log;
    const SessionFactory& sessions;
    DeliveryPool* pool;
    HandoverGate* gate;    ///< the watchdog's (null: none)
    PipelineProbe* probe;  ///< null: none
  };
  AccountPoll(const rc::Poll& poll, const rc::User& user, const Context& context)
      : poll_(poll), user_(user), state_dir_(context.state_dir), pool_(context.pool), log_(context.log),
        gate_(context.gate), probe_(context.probe), sessions_(context.sessions),
        name_(account_name(poll, user)),
        run_timeout_(static_cast<int>(context.config.global.run_timeout_seconds)),  // rc: at most 7 days
        config_changed_(modified(context.config.path)) {}

  /// With `kept` null: connect, poll, disconnect. Else poll over that open session and leave
  /// it open (IMAP IDLE); its deletions are committed by its next idle() or close().
  AccountOutcome run(bool check_only, fetch::Session* kept = nullptr);

 private:
  Status folder(fetch::Session& session, fetch::UidStore& store, const std::string& name,
                bool check_only, AccountOutcome& out);
  Status transfer(fetch::Session& session, AccountRun& run, const Plan& plan);

  const rc::Poll& poll_;
  const rc::User& user_;
  const std::string& state_dir_;
  DeliveryPool* pool_;
  Log& log_;
  HandoverGate* gate_;
  PipelineProbe* probe_;
  const SessionFactory& sessions_;
  std::string name_;
  std::vector<fetch::MessageRef> removed_;  // DELE / \Deleted accepted in this session
  int run_timeout_;  ///< global.run_timeout, seconds
  std::time_t config_changed_;  ///< the rc file's mtime: deferrals older than it are retried
};

AccountOutcome AccountPoll::run(bool check_only, fetch::Session* kept) {
  AccountOutcome out;
  auto store = fetch::UidStore::open(state_dir_, account_key(poll_, user_));
  if (!store) {
    // Without its store nothing of this account can be recorded; the others have their own.
    out.error = with_scope(store.error(), Scope::account);
    return out;
  }
  // global.run_timeout bounds all of this poll's talk with the server: a server trickling
  // bytes holds neither this account nor (parallel = 1) the ones after it for ever.
  Deadline run_deadline = Deadline::after(run_timeout_);
  std::unique_ptr<fetch::Session> own;
  if (kept == nullptr) {
    own = sessions_(poll_, user_, log_);
    own->set_run_deadline(run_deadline);
    if (auto opened = own->open(); !opened) {
      out.error = opened.error();
      (void)own->close();
      return out;
    }
  }
  fetch::Session& session = kept != nullptr ? *kept : *own;
  if (kept != nullptr) kept->set_run_deadline(run_deadline);
  for (const auto& name : user_.folders) {
    auto done = folder(session, *store, name, check_only, out);
    if (!done) out.error = done.error();
    // A failure inside the folder's run (a UID record that failed after a 2xx) may stop the
    // account while the retrieval itself went well: no next folder then either.
    if (out.error && stops(*out.error) >= Stops::account) break;
  }
  // QUIT / EXPUNGE commits the deletions; if it fails they did not happen, and the UID store
  // (pending deletes) makes the next run delete them without delivering again.
  if (own) {
    auto closed = own->close();
    if (!closed && !out.error) out.error = closed.error();
    // A committed POP3 deletion frees its UIDL for a new message (hash-based UIDLs, migrated
    // mailboxes): its "delete pending" mark must not outlive it, or that message would be
    // deleted unread. IMAP UIDs are never reused within a UIDVALIDITY; their marks go when
    // the messages leave the listing (and a skipped EXPUNGE, see imap_mailbox.cpp, must
    // leave them pending).
    if (closed && poll_.protocol == rc::Protocol::pop3) {
      if (auto forgot = store->forget(removed_); !forgot && !out.error) out.error = forgot.error();
    }
  }
  if (kept != nullptr) kept->set_run_deadline(Deadline());  // IDLE waits on its own terms
  // -c only looks: a saved UIDVALIDITY or prune would make the real first run no first run.
  if (check_only) return out;
  if (probe_ != nullptr) probe_->before_save();
  if (auto saved = store->save(); !saved) out.error = with_scope(saved.error(), Scope::account);
  return out;
}

Status AccountPoll::folder(fetch::Session& session, fetch::UidStore& store, const std::string& name,
                           bool check_only, AccountOutcome& out) {
  // IMAP with state from the last poll: only what changed is listed (fetchall wants every
  // message looked at again, so it lists the whole folder).
  std::optional<fetch::FolderSync> known;
  if (poll_.protocol == rc::Protocol::imap && !user_.fetchall) known = store.sync(name);
  auto listing = known ? session.list_changes(name, *known, store.unsettled(name, known->settled_below))
                       : session.list(name);
  if (!listing) return listing.error();
  // A folder never listed before, or renumbered (UIDVALIDITY changed), is a first run: with
  // fetchall off its \Seen messages are old mail, remembered as known, not fetched.
  bool first_run = !store.has_folder(name);
  if (store.set_uidvalidity(name, listing->uidvalidity)) {
    log_.info(name_ + ": UIDVALIDITY of " + name + " changed, its seen-message list was reset");
    // With keep, \Seen mail is what earlier polls delivered. Without keep, whatever is still
    // on the server was not handed on (a 4xx, a deferral) even if a person read it in webmail
    // meanwhile: it must not be put aside as old mail.
    first_run = user_.keep;
  }
  if (listing->complete) store.prune(name, listing->messages);
  else store.prune_gone(name, listing->vanished, listing->present);

  PlanInput input{user_, store, first_run, std::time(nullptr), name_, log_};
  input.config_changed = config_changed_;
  Plan plan = plan_folder(*listing, input);
  out.fetchlimit_hit = out.fetchlimit_hit || plan.fetchlimit_hit;
  if (check_only) {
    out.waiting += static_cast<unsigned>(plan.retrieve.size());
    return {};
  }
  if (!plan.known.empty()) {
    if (auto noted = store.record_known(plan.known); !noted) return noted.error();
    log_.info(name_ + ": " + std::to_string(plan.known.size()) + " message(s) in " + name +
              " already seen before the first poll: left alone as old mail (-a fetches them)");
  }
  if (!plan.delete_only.empty()) {
    if (auto acked = session.acknowledge(plan.delete_only, true); !acked) return acked.error();
    removed_.insert(removed_.end(), plan.delete_only.begin(), plan.delete_only.end());
  }
  // Once every message of the plan is finished (delivered, deferred or failed), the UID
  // store says which of them the next poll need not list again (IMAP).
  auto note_sync = [&] {
    if (listing->sync.uidnext == 0) return;
    fetch::FolderSync sync = listing->sync;
    sync.settled_below = settled_below(*listing, store, name);
    store.set_sync(name, sync);
  };
  if (plan.retrieve.empty()) {
    note_sync();
    log_.verbose("No mail for " + user_.username + " at " + poll_.server);
    return {};
  }
  log_.info(std::to_string(plan.retrieve.size()) + " message" + (plan.retrieve.size() == 1 ? "" : "s") +
            " for " + user_.username + " at " + poll_.server + " (" + std::to_string(plan.bytes) +
            " octets).");
  AccountLedger ledger(store, user_.keep, gate_, probe_);
  AccountRun run;
  run.poll = &poll_;
  run.user = &user_;
  run.name = name_;
  run.ledger = &ledger;
  auto moved = transfer(session, run, plan);
  note_sync();
  out.retrieved += run.retrieved;
  if (run.error) out.error = run.error;
  return moved;
}

Status AccountPoll::transfer(fetch::Session& session, AccountRun& run, const Plan& plan) {
  std::size_t index = 0;
  Status retrieved = session.retrieve(plan.retrieve, [&](const fetch::MessageRef& ref, Result<std::string> data) {
    ++index;
    {
      std::lock_guard lock(run.mutex);
      if (run.stop) return false;
    }
    if (!data) {
      log_.error(name_ + ": message " + ref.uid + " not retrieved: " + data.error().text);
      run.fail(data.error());
      return true;
    }
    Job job{&run, ref, make_message(poll_, user_, ref, std::move(*data), session.peer_address()), index, plan.retrieve.size()};
    pool_->submit(std::move(job));
    return true;
  });
  // Every message handed to the workers is finished (delivered or deferred) before any is
  // acknowledged: the server forgets only what the MTA took.
  run.wait_idle();
  // A broken session cannot acknowledge; the UID store's pending deletes finish the job
  // on the next run.
  if (!retrieved) return retrieved;
  // Only what the hand-overs recorded may leave the server (handover.hpp).
  std::vector<fetch::MessageRef> handled = run.ledger->acknowledgeable();
  if (!handled.empty()) {
    bool remove = !user_.keep;
    if (remove || poll_.protocol == rc::Protocol::imap) {
      if (auto acked = session.acknowledge(handled, remove); !acked) return acked.error();
      if (remove) removed_.insert(removed_.end(), handled.begin(), handled.end());
      if (probe_ != nullptr) probe_->after_acknowledge();
    }
  }
  return retrieved;
}

// fetchmail's codes: 0 mail handed on (-c: mail waiting), 1 none, else the error's code.
int account_exit_code(const AccountOutcome& out, bool check_only) {
  if (check_only) {
    if (out.waiting > 0) return 0;
    return out.error ? exit_code(*out.error) : 1;
  }
  if (out.fetchlimit_hit && !out.error) return exit_code(Kind::fetchlimit);
  if (out.retrieved > 0) return 0;
  return out.error ? exit_code(*out.error) : 1;
}

}  // namespace

Poller::Poller(const rc::Config& config, std::string state_dir, Log& log, Ports ports)
    : config_(config), state_dir_(std::move(state_dir)), log_(log), ports_(std::move(ports)),
      probe_(test_seams().probe) {
  Ports real = real_ports(config_, state_dir_);
  if (!ports_.session) ports_.session = real.session;
  if (!ports_.scanner) ports_.scanner = real.scanner;
  if (!ports_.transport) ports_.transport = real.transport;
  if (config_.scan.enabled) scanner_ = ports_.scanner(log_);
  if (scanner_ && test_seams().wrap_scanner) {
    scanner_ = test_seams().wrap_scanner(std::move(scanner_), config_.scan.clamd.empty());
  }
  // libclamav runs in our process: what a crash left behind is read before anything is scanned.
  if (config_.scan.enabled && (config_.scan.clamd.empty() || config_.scan.engine == rc::Engine::libclamav)) {
    if (auto guard = scan::ScanGuard::open(state_dir_, log_); guard) scan_guard_ = std::move(*guard);
    else log_.error(guard.error().text + " (scanning without poison-message protection)");
    // A scan that hangs instead of crashing ends the run (exit 23) and is blamed the same way.
    if (scan_guard_) {
      scan_guard_->watch_hangs(std::chrono::seconds(config_.scan.scan_timeout_seconds), [this] { end_handovers(); });
    }
  }
  if (auto list = scan::Allowlist::parse(config_.scan.allowlist, config_.path); list) allowlist_ = *list;
  if (!config_.scan.allowlist_file.empty()) {
    if (auto more = scan::Allowlist::load_file(config_.scan.allowlist_file); more) allowlist_.merge(*more);
    else log_.error(more.error().text);
  }
}

Poller::~Poller() = default;

HandoverGate* Poller::handover_gate() { return scan_guard_ ? &handovers_ : nullptr; }

// A hung scan is ending the process: nothing new reaches the end of DATA from now on, and the
// deliveries past it get a few seconds to be recorded, so that ending duplicates nothing (and
// acknowledges nothing: that needs a finished poll). An MTA answers the end of DATA in well
// under a second when it is healthy.
void Poller::end_handovers() {
  handovers_.close();
  if (!handovers_.drain(std::chrono::seconds(5))) {
    log_.warning("a delivery was still waiting for the MTA's reply: if the MTA took it, that "
                 "message may be delivered again by the next run");
  }
}

void Poller::expire_quarantine() {
  Quarantine quarantine(quarantine_directory(config_, state_dir_));
  auto removed = quarantine.expire(config_.scan.quarantine_keep_seconds, std::time(nullptr));
  if (!removed) {
    log_.error(removed.error().text);
    return;
  }
  for (const auto& e : *removed) {
    log_.info("quarantine: expired " + e.id + " (" + e.virus + ", " + e.account + ", uid " + e.uid + ")");
  }
}

std::vector<std::pair<const rc::Poll*, const rc::User*>> Poller::accounts(const PollOptions& options) const {
  std::vector<std::pair<const rc::Poll*, const rc::User*>> out;
  for (const auto& poll : config_.polls) {
    if (!options.servers.empty() &&
        std::find(options.servers.begin(), options.servers.end(), poll.server) == options.servers.end()) {
      continue;
    }
    if (options.skip_imap && poll.protocol == rc::Protocol::imap) continue;
    for (const auto& user : poll.users) out.emplace_back(&poll, &user);
  }
  return out;
}

int Poller::poll_account(const rc::Poll& poll, const rc::User& user, fetch::Session* session) {
  DeliveryPool pool(config_, scanner_.get(), allowlist_, quarantine_directory(config_, state_dir_), log_,
                    ports_.transport, scan_guard_.get());
  AccountPoll account(poll, user, {config_, state_dir_, log_, ports_.session, &pool, handover_gate(), probe_});
  auto out = account.run(false, session);
  if (out.error) log_.error(out.error->text);
  return account_exit_code(out, false);
}

int Poller::poll_once(const PollOptions& options) {
  struct Task { const rc::Poll* poll; const rc::User* user; int code = 1; };
  std::vector<Task> tasks;
  for (const auto& [poll, user] : accounts(options)) tasks.push_back({poll, user});
  expire_quarantine();
  DeliveryPool pool(config_, scanner_.get(), allowlist_, quarantine_directory(config_, state_dir_), log_,
                    ports_.transport, scan_guard_.get());
  AccountPoll::Context context{config_, state_dir_, log_, ports_.session, &pool, handover_gate(), probe_};
  std::atomic<std::size_t> next{0};
  std::atomic<bool> run_stopped{false};
  auto worker = [&] {
    for (std::size_t i = next++; i < tasks.size() && !run_stopped; i = next++) {
      AccountPoll account(*tasks[i].poll, *tasks[i].user, context);
      auto out = account.run(options.check_only);
      if (out.error) log_.error(out.error->text);
      if (out.error && stops(*out.error) == Stops::run) run_stopped = true;
      tasks[i].code = account_exit_code(out, options.check_only);
    }
  };
  unsigned threads = std::clamp<unsigned>(config_.global.parallel, 1, static_cast<unsigned>(tasks.size() + 1));
  std::vector<std::thread> pollers;
  for (unsigned i = 1; i < threads; ++i) pollers.emplace_back(worker);
  worker();
  for (auto& t : pollers) t.join();

  // fetchmail: 0 if any account retrieved mail, else the last error, else 1.
  int code = 1;
  for (const auto& t : tasks) {
    if (t.code == 0) return 0;
    if (t.code != 1) code = t.code;
  }
  return code;
}

}  // namespace clamfetch::app
