// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// IMAP session, part 2: the selected folder. SELECT + one UID FETCH for UIDs, sizes and flags,
// UID FETCH BODY.PEEK[] of many messages per command with bodies streamed into one string
// each, UID STORE of a whole batch, one (UID) EXPUNGE at the end.

#include <algorithm>
#include <new>
#include <string>
#include <utility>

#include "fetch/imap_internal.hpp"
#include "fetch/retrieval.hpp"
#include "fetch/tls.hpp"

namespace clamfetch::fetch::imap {

namespace {

constexpr std::size_t kChunkMessages = 50;            // messages per UID FETCH
constexpr uint64_t kChunkBytes = 16 * 1024 * 1024;    // announced octets per UID FETCH
constexpr uint64_t kReserveCap = 256 * 1024 * 1024;   // larger bodies grow as they arrive
constexpr std::size_t kUidsPerCommand = 1000;         // keeps STORE/EXPUNGE lines short
constexpr std::size_t kMaxListed = 1'000'000;         // FETCH responses kept from one listing
constexpr uint64_t kBodySlack = 1024 * 1024;          // over twice the announced size

// How many of `refs` go into the next UID FETCH: at least one.
std::size_t chunk_length(std::span<const MessageRef> refs) {
  std::size_t count = 0;
  uint64_t bytes = 0;
  while (count < refs.size() && count < kChunkMessages && (count == 0 || bytes < kChunkBytes)) {
    bytes += refs[count].size;
    ++count;
  }
  return count;
}

// `uids` cut into groups of at most kUidsPerCommand.
std::vector<std::set<uint32_t>> groups_of(const std::set<uint32_t>& uids) {
  std::vector<std::set<uint32_t>> groups;
  for (uint32_t uid : uids) {
    if (groups.empty() || groups.back().size() == kUidsPerCommand) groups.emplace_back();
    groups.back().insert(uid);
  }
  return groups;
}

Error out_of_memory(const std::string& prefix) {
  return make_error(Kind::internal, Scope::account, prefix + "out of memory");
}

}  // namespace

// ---------------------------------------------------------------- libetpan callbacks

void ImapSession::on_log(mailimap*, int log_type, const char* data, std::size_t size,
                         void* self) noexcept {
  static_cast<ImapSession*>(self)->trace_.event(log_type, data, size);
}

void ImapSession::on_items(std::size_t, std::size_t, void*) noexcept {}

void ImapSession::on_msg_att(mailimap_msg_att* att, void* self) noexcept {
  auto* session = static_cast<ImapSession*>(self);
  try {
    session->take_att(att_facts(att));
  } catch (...) {
    session->callback_failed_ = true;
  }
}

bool ImapSession::on_body(int, mailimap_msg_att_body_section*, const char* bytes,
                          std::size_t length, void* self) noexcept {
  auto* session = static_cast<ImapSession*>(self);
  if (session->sink_ != Sink::bodies) return true;  // not ours to keep
  // libetpan hands on what it buffered before a read timed out and then waits once more:
  // refuse the rest so that a silent server costs one timeout, not two.
  if (stream_timed_out(session->imap_->imap_stream)) return false;
  // A lying server: a literal size libetpan wrapped, or more octets than announced.
  if (session->guard_.refused() != 0) return false;
  if (session->body_.size() + length > session->body_cap_) {
    session->body_over_cap_ = true;
    return false;
  }
  try {
    session->body_.append(bytes, length);
    return true;
  } catch (...) {
    session->callback_failed_ = true;
    return false;  // libetpan aborts the command with MAILIMAP_ERROR_MEMORY
  }
}

void ImapSession::take_att(const AttFacts& facts) {
  if (sink_ == Sink::listing) {
    if (facts.uid == 0) {
      if (facts.has_size) listed_without_uid_.push_back(facts.seq);
      return;
    }
    if (listed_.size() >= kMaxListed && listed_.count(facts.uid) == 0) {
      too_many_listed_ = true;
      return;
    }
    AttFacts& entry = listed_[facts.uid];
    entry.uid = facts.uid;
    entry.seq = facts.seq;
    if (facts.has_size) {
      entry.has_size = true;
      entry.size = facts.size;
    }
    if (facts.has_flags) {
      entry.has_flags = true;
      entry.seen = facts.seen;
      entry.deleted = facts.deleted;
    }
  } else if (sink_ == Sink::bodies) {
    if (!facts.has_body) return;  // an unsolicited FETCH (flags): no body bytes came with it
    ++next_expected_;
    if (facts.uid != 0) bodies_[facts.uid] = std::move(body_);
    body_ = std::string();
    reserve_next_body();
    start_message_deadline();
  }
}

// One string per body, sized from RFC822.SIZE so that a big message is never copied while it
// grows. Responses come in sequence order, so the next body is most likely the next one
// requested; a wrong guess only costs a reallocation.
void ImapSession::reserve_next_body() {
  if (next_expected_ >= expected_sizes_.size()) return;
  try {
    body_.reserve(static_cast<std::size_t>(std::min(expected_sizes_[next_expected_], kReserveCap)));
  } catch (const std::bad_alloc&) {
    // Growing as the bytes arrive still works, or fails in on_body.
  }
}

// Each body of a chunk gets its own deadline from when the previous one completed. Bodies may
// come in any order, so the deadline allows for the chunk's largest message: never less
// than any message's own.
void ImapSession::start_message_deadline() {
  if (imap_ && imap_->imap_stream != nullptr) {
    set_stream_deadline(imap_->imap_stream,
                        message_deadline(deadline_size_, settings_.timeout_seconds, run_deadline_));
  }
}

// ---------------------------------------------------------------- Session

Status ImapSession::require(State state, std::string_view what) {
  if (state_ == state) return {};
  if (state_ == State::broken) {
    return make_error(Kind::connect, Scope::account,
                      prefix() + std::string(what) + " after the session failed");
  }
  return make_error(Kind::internal, Scope::account,
                    prefix() + std::string(what) + " in the wrong session state");
}

Result<FolderListing> ImapSession::list(const std::string& folder) {
  FolderListing listing;
  if (Status status = select_folder(folder, listing); !status) return status.error();
  if (listing.sync.exists > 0) {
    SetPtr all(mailimap_set_new_interval(1, 0));  // 1:*
    if (!all) return out_of_memory(prefix());
    Status status = fetch_listing(listing, all.get(), 1, "UID FETCH 1:* (UID RFC822.SIZE FLAGS)");
    if (!status) return status.error();
  }
  log_.verbose(prefix() + folder + ": " + std::to_string(listing.messages.size()) +
               " messages, UIDVALIDITY " + std::to_string(listing.uidvalidity));
  return listing;
}

Status ImapSession::fetch_listing(FolderListing& listing, const mailimap_set* set,
                                  uint32_t min_uid, std::string_view what) {
  listed_.clear();
  listed_without_uid_.clear();
  callback_failed_ = false;
  too_many_listed_ = false;
  FetchTypePtr type = fetch_uid_size();
  if (!type) return out_of_memory(prefix());
  clist* result = nullptr;
  sink_ = Sink::listing;
  int r = mailimap_uid_fetch(imap_.get(), const_cast<mailimap_set*>(set), type.get(), &result);
  sink_ = Sink::none;
  FetchListPtr owned(result);
  if (hostile()) return fail(r, what);
  if (r == MAILIMAP_ERROR_UID_FETCH) {
    return make_error(Kind::server, Scope::mailbox,
                      prefix() + "listing " + folder_ + " failed: " +
                          printable(imap_->imap_response));
  }
  if (r != MAILIMAP_NO_ERROR) return fail(r, what);
  if (callback_failed_) return out_of_memory(prefix());
  if (too_many_listed_) {
    listed_.clear();
    return make_error(Kind::protocol, Scope::mailbox,
                      prefix() + "server lists more than " + std::to_string(kMaxListed) +
                          " messages in " + folder_);
  }

  for (uint32_t seq : listed_without_uid_) {
    log_.warning(prefix() + folder_ + ": message " + std::to_string(seq) +
                 " listed without a UID: skipped");
    listing.without_uid = true;
  }
  for (const auto& [uid, facts] : listed_) {
    if (uid < min_uid) continue;  // the highest UID, answering "n:*" with n above it
    if (!facts.has_size) {
      log_.warning(prefix() + folder_ + ": message UID " + std::to_string(uid) +
                   " listed without a size: skipped");
      listing.rejected.push_back(std::to_string(uid));
      continue;
    }
    if (facts.size > kMaxMessageBytes) {
      log_.warning(prefix() + folder_ + ": message UID " + std::to_string(uid) + " skipped: " +
                   std::to_string(facts.size) + " octets, over the ceiling of " +
                   std::to_string(kMaxMessageBytes) + " octets");
      listing.rejected.push_back(std::to_string(uid));
      continue;
    }
    MessageRef ref{folder_, facts.seq, std::to_string(uid), facts.size, facts.seen, facts.deleted};
    ref.uidvalidity = listing.uidvalidity;
    listing.messages.push_back(ref);
  }
  std::sort(listing.messages.begin(), listing.messages.end(),
            [](const MessageRef& a, const MessageRef& b) { return a.number < b.number; });
  listed_.clear();
  return {};
}

Status ImapSession::retrieve(std::span<const MessageRef> refs, const OnMessage& on_message) {
  if (Status status = require(State::authenticated, "retrieve"); !status) return status;
  if (refs.empty()) return {};
  if (folder_.empty()) {
    return make_error(Kind::internal, Scope::account, prefix() + "retrieve before list");
  }
  std::size_t done = 0;
  while (done < refs.size()) {
    std::span<const MessageRef> chunk = refs.subspan(done, chunk_length(refs.subspan(done)));
    if (Status status = fetch_chunk(chunk); !status) return status;
    bool stop = false;
    if (Status status = deliver_chunk(chunk, on_message, stop); !status || stop) return status;
    done += chunk.size();
  }
  return {};
}

std::set<uint32_t> ImapSession::expect_chunk(std::span<const MessageRef> chunk) {
  std::set<uint32_t> uids;
  std::vector<const MessageRef*> by_number;
  for (const MessageRef& ref : chunk) {
    uint32_t uid = parse_uid(ref.uid);
    if (uid == 0 || !uids.insert(uid).second) continue;
    by_number.push_back(&ref);
  }
  std::sort(by_number.begin(), by_number.end(),
            [](const MessageRef* a, const MessageRef* b) { return a->number < b->number; });
  expected_sizes_.clear();
  expected_uids_.clear();
  uint64_t largest = 0;
  for (const MessageRef* ref : by_number) {
    expected_sizes_.push_back(ref->size);
    expected_uids_.push_back(ref->uid);
    largest = std::max(largest, ref->size);
  }
  deadline_size_ = largest;
  // Bodies arrive in any order, so each is held to the largest announced size of the chunk.
  body_cap_ = std::min(largest, kMaxMessageBytes) * 2 + kBodySlack;
  body_over_cap_ = false;
  bodies_.clear();
  body_ = std::string();
  next_expected_ = 0;
  callback_failed_ = false;
  return uids;
}

Status ImapSession::fetch_chunk(std::span<const MessageRef> chunk) {
  std::set<uint32_t> uids = expect_chunk(chunk);
  if (uids.empty()) return {};

  SetPtr set = uid_set(uids);
  FetchTypePtr type = fetch_uid_body();
  if (!set || !type) return out_of_memory(prefix());
  reserve_next_body();
  start_message_deadline();
  clist* result = nullptr;
  sink_ = Sink::bodies;
  int r = mailimap_uid_fetch(imap_.get(), set.get(), type.get(), &result);
  sink_ = Sink::none;
  FetchListPtr owned(result);
  body_ = std::string();
  bool by_deadline = stream_deadline_passed(imap_->imap_stream);
  set_stream_deadline(imap_->imap_stream, run_deadline_);
  if (by_deadline && !hostile()) {
    bodies_.clear();
    (void)fail(r, "UID FETCH BODY.PEEK[]");  // drops the session: it is out of step
    std::size_t at = std::min(next_expected_, expected_uids_.size() - 1);
    return deadline_error(settings_.account, run_deadline_, expected_uids_[at], deadline_size_,
                          settings_.timeout_seconds);
  }
  if (hostile()) {
    bodies_.clear();
    return fail(r, "UID FETCH BODY.PEEK[] of " + std::to_string(uids.size()) + " messages");
  }
  if (r == MAILIMAP_ERROR_UID_FETCH) {
    // A NO with nothing returned: each message of the chunk is reported on its own.
    log_.warning(prefix() + "UID FETCH in " + folder_ + " failed: " +
                 printable(imap_->imap_response));
    return {};
  }
  if (r != MAILIMAP_NO_ERROR) {
    bodies_.clear();
    return fail(r, "UID FETCH BODY.PEEK[] of " + std::to_string(uids.size()) + " messages");
  }
  return {};
}

Status ImapSession::deliver_chunk(std::span<const MessageRef> chunk, const OnMessage& on_message,
                                  bool& stop) {
  for (const MessageRef& ref : chunk) {
    auto found = bodies_.find(parse_uid(ref.uid));
    bool more;
    if (found == bodies_.end()) {
      more = on_message(ref, make_error(Kind::server, Scope::message,
                                        prefix() + "server did not return message UID " +
                                            ref.uid + " of " + folder_));
    } else if (std::string problem = imap_body_problem(ref.size, found->second.size());
               !problem.empty()) {
      // An empty body, or one that is not the size the server announced, is not the
      // message: it stays on the server (RFC 3501: RFC822.SIZE is the size of BODY[]).
      bodies_.erase(found);
      more = on_message(ref, body_error(settings_.account, folder_, ref.uid, problem));
    } else {
      std::string body = std::move(found->second);
      bodies_.erase(found);
      more = on_message(ref, std::move(body));
    }
    if (!more) {
      stop = true;
      break;
    }
  }
  bodies_.clear();
  return {};
}

Status ImapSession::acknowledge(std::span<const MessageRef> refs, bool remove) {
  if (Status status = require(State::authenticated, "acknowledge"); !status) return status;
  std::set<uint32_t> uids;
  for (const MessageRef& ref : refs) {
    uint32_t uid = parse_uid(ref.uid);
    if (uid == 0 || ref.folder != folder_) {
      return make_error(Kind::internal, Scope::mailbox,
                        prefix() + "cannot acknowledge " + ref.folder + " UID " + ref.uid +
                            " while " + (folder_.empty() ? "no folder" : folder_) +
                            " is selected");
    }
    uids.insert(uid);
  }
  const char* flag = remove ? "\\Deleted" : "\\Seen";
  for (const std::set<uint32_t>& group : groups_of(uids)) {
    SetPtr set = uid_set(group);
    StoreFlagsPtr flags = add_flag_silent(remove);
    if (!set || !flags) return out_of_memory(prefix());
    int r = mailimap_uid_store(imap_.get(), set.get(), flags.get());
    if (r == MAILIMAP_ERROR_UID_STORE) {
      return make_error(Kind::server, Scope::mailbox,
                        prefix() + "UID STORE +FLAGS (" + flag + ") of " +
                            std::to_string(group.size()) + " messages in " + folder_ +
                            " failed: " + printable(imap_->imap_response));
    }
    if (r != MAILIMAP_NO_ERROR) return fail(r, std::string("UID STORE +FLAGS (") + flag + ")");
    if (remove) deleted_.insert(group.begin(), group.end());
  }
  return {};
}

Status ImapSession::expunge_deleted() {
  if (deleted_.empty()) return {};
  std::set<uint32_t> uids = std::move(deleted_);
  deleted_.clear();
  // UID EXPUNGE removes only what we marked; plain EXPUNGE also what others marked \Deleted.
  bool uidplus = has_extension(imap_.get(), "UIDPLUS");
  int r = MAILIMAP_NO_ERROR;
  if (uidplus) {
    for (const std::set<uint32_t>& group : groups_of(uids)) {
      SetPtr set = uid_set(group);
      if (!set) return out_of_memory(prefix());
      r = mailimap_uid_expunge(imap_.get(), set.get());
      if (r != MAILIMAP_NO_ERROR) break;
    }
  } else {
    Result<bool> ours = expunge_is_ours(uids);
    if (!ours) return ours.error();
    // Another client's \Deleted flag is a decision it may still take back: a plain EXPUNGE
    // now would make it for that client. Ours stay flagged and pending in the UID store; the
    // next run flags them again and retries, once the other messages are gone or undeleted.
    if (!*ours) return {};
    r = mailimap_expunge(imap_.get());
  }
  if (r == MAILIMAP_ERROR_EXPUNGE) {
    return make_error(Kind::server, Scope::mailbox,
                      prefix() + "EXPUNGE of " + std::to_string(uids.size()) + " messages in " +
                          folder_ + " failed (they stay on the server): " +
                          printable(imap_->imap_response));
  }
  if (r != MAILIMAP_NO_ERROR) return fail(r, uidplus ? "UID EXPUNGE" : "EXPUNGE");
  log_.verbose(prefix() + "expunged " + std::to_string(uids.size()) + " messages from " +
               folder_);
  return {};
}

Result<bool> ImapSession::expunge_is_ours(const std::set<uint32_t>& ours) {
  SearchKeyPtr key(mailimap_search_key_new(MAILIMAP_SEARCH_KEY_DELETED, nullptr, nullptr, nullptr,
                                           nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                           nullptr, nullptr, nullptr, nullptr, nullptr, 0, nullptr,
                                           nullptr, nullptr, nullptr, nullptr, nullptr, 0, nullptr,
                                           nullptr, nullptr));
  if (!key) return out_of_memory(prefix());
  clist* result = nullptr;
  int r = mailimap_uid_search(imap_.get(), nullptr, key.get(), &result);
  SearchResultPtr owned(result);
  if (r == MAILIMAP_ERROR_UID_SEARCH) {
    return make_error(Kind::server, Scope::mailbox,
                      prefix() + "UID SEARCH DELETED in " + folder_ + " failed, EXPUNGE skipped (" +
                          std::to_string(ours.size()) + " messages stay on the server): " +
                          printable(imap_->imap_response));
  }
  if (r != MAILIMAP_NO_ERROR) return fail(r, "UID SEARCH DELETED");
  std::size_t others = 0;
  for (clistiter* cur = owned ? clist_begin(owned.get()) : nullptr; cur != nullptr;
       cur = clist_next(cur)) {
    const auto* uid = static_cast<const uint32_t*>(clist_content(cur));
    if (uid != nullptr && ours.count(*uid) == 0) ++others;
  }
  if (others == 0) return true;
  log_.warning(prefix() + "EXPUNGE skipped in " + folder_ + ": the server has no UIDPLUS and " +
               std::to_string(others) + " message(s) there are flagged \\Deleted by another " +
               "client; " + std::to_string(ours.size()) + " delivered message(s) stay flagged " +
               "and are expunged by a later run");
  return false;
}

}  // namespace clamfetch::fetch::imap
