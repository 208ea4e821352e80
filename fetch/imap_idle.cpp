// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// IMAP session, part 3: IDLE (RFC 2177) on the selected folder, for the daemon's --idle.
//
// One idle() call is one or more IDLE ... DONE exchanges:
//   IDLE  -> "+ idling"; then we wait in poll() on the socket and the caller's wake_fd,
//            reading nothing ourselves;
//   DONE  -> as soon as the server sent anything, wake_fd fired or the time is up; libetpan's
//            parser then reads every untagged response up to the tagged OK (EXISTS, EXPUNGE,
//            FETCH FLAGS, "* OK Still here", literals included) and keeps the session in step.
// mailimap_idle() clears imap_selection_info->sel_has_exists and the parser sets it on an
// EXISTS response, so after DONE it says whether new mail was announced. Anything else the
// server said (a keep-alive, another client's flag change) only starts the next IDLE.
//
// Mail that arrived while the caller polled was announced (EXISTS) in the replies to its
// FETCH or STORE, where nobody looked, and the server will not announce it again in IDLE.
// So before the first IDLE, idle() looks for it: a message with a UID from the last SELECT's
// UIDNEXT on (UID SEARCH), or an EXISTS in the replies to EXPUNGE and that SEARCH; if there is
// one it returns new_mail at once. Between the SEARCH and IDLE nothing else is sent, and the
// server reports what arrived then after its "+ idling".
//
// What our transport may hold before poll() sees the socket readable: libetpan's own read
// buffer, and the decrypted rest of a TLS record larger than that buffer (SSL_pending). Both
// are checked before each wait.

#include <poll.h>

#include <cerrno>
#include <memory>
#include <string>

#include "fetch/imap_internal.hpp"
#include "fetch/tls.hpp"

namespace clamfetch::fetch::imap {

namespace {

// Whether an EXISTS was parsed since sel_has_exists was last cleared.
bool exists_announced(const mailimap* imap) {
  return imap->imap_selection_info != nullptr && imap->imap_selection_info->sel_has_exists;
}

}  // namespace

bool ImapSession::can_idle() const {
  return state_ == State::authenticated && imap_ && has_extension(imap_.get(), "IDLE");
}

ImapSession::Wake ImapSession::wait_while_idling(int wake_fd, const Deadline& deadline) const {
  // Bytes that arrived with the continuation line are already in libetpan's buffer or in
  // OpenSSL's: the socket would stay silent about them.
  if (imap_->imap_stream->read_buffer_len > 0 || stream_has_pending(imap_->imap_stream)) {
    return Wake::server;
  }
  pollfd fds[2] = {{mailimap_idle_get_fd(imap_.get()), POLLIN, 0}, {wake_fd, POLLIN, 0}};
  nfds_t count = wake_fd >= 0 ? 2 : 1;
  for (;;) {
    int ready = ::poll(fds, count, deadline.remaining_ms());
    if (ready == 0) return Wake::timeout;
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Wake::server;  // DONE will find out what is wrong with the connection
    }
    // The server first: what it said must be read before the session can do anything else.
    if (fds[0].revents != 0) return Wake::server;
    return Wake::woken;
  }
}

Result<bool> ImapSession::arrived_since_select() {
  const mailimap_selection_info* selection = imap_->imap_selection_info;
  uint32_t uidnext = selection == nullptr ? 0 : selection->sel_uidnext;
  if (uidnext == 0) return false;  // no UIDNEXT: only EXISTS can tell
  SetPtr set(mailimap_set_new_interval(uidnext, 0));  // UIDNEXT:*
  if (!set) return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
  std::unique_ptr<mailimap_search_key, decltype(&mailimap_search_key_free)> key(
      mailimap_search_key_new_uid(set.get()), &mailimap_search_key_free);
  if (!key) return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
  set.release();  // owned by the key now
  clist* result = nullptr;
  int r = mailimap_uid_search(imap_.get(), nullptr, key.get(), &result);
  if (r != MAILIMAP_NO_ERROR) return fail(r, "UID SEARCH UID " + std::to_string(uidnext) + ":*");
  // "n:*" always matches the highest UID, also when it is below n: compare.
  bool found = false;
  if (result == nullptr) return found;
  for (clistiter* cur = clist_begin(result); cur != nullptr; cur = clist_next(cur)) {
    if (*static_cast<uint32_t*>(clist_content(cur)) >= uidnext) found = true;
  }
  mailimap_search_result_free(result);
  return found;
}

Result<IdleEvent> ImapSession::idle(int max_seconds, int wake_fd) {
  if (Status status = require(State::authenticated, "IDLE"); !status) return status.error();
  if (folder_.empty()) {
    return make_error(Kind::internal, Scope::account, prefix() + "IDLE before a folder was listed");
  }
  if (!can_idle()) {
    return make_error(Kind::protocol, Scope::account,
                      prefix() + "IDLE not supported by " + settings_.server);
  }
  // From here an EXISTS in any reply means new mail (see the top of this file).
  if (imap_->imap_selection_info != nullptr) imap_->imap_selection_info->sel_has_exists = 0;
  // The last poll's deletions are committed before a wait that may last half an hour.
  if (Status status = expunge_deleted(); !status) return status.error();
  Result<bool> arrived = arrived_since_select();
  if (!arrived) return arrived.error();
  if (*arrived || exists_announced(imap_.get())) {
    log_.verbose(prefix() + "new mail in " + folder_ + " since it was listed");
    return IdleEvent::new_mail;
  }

  Deadline deadline = Deadline::after(max_seconds > 0 ? max_seconds : 1);
  for (;;) {
    int r = mailimap_idle(imap_.get());
    if (r != MAILIMAP_NO_ERROR) return fail(r, "IDLE");
    log_.verbose(prefix() + "idling on " + folder_);
    Wake wake = wait_while_idling(wake_fd, deadline);
    r = mailimap_idle_done(imap_.get());
    if (r != MAILIMAP_NO_ERROR) return fail(r, "DONE (end of IDLE)");
    if (exists_announced(imap_.get())) {
      log_.verbose(prefix() + "new mail announced in " + folder_);
      return IdleEvent::new_mail;
    }
    if (wake == Wake::woken) return IdleEvent::woken;
    if (wake == Wake::timeout || deadline.expired()) return IdleEvent::timeout;
  }
}

}  // namespace clamfetch::fetch::imap
