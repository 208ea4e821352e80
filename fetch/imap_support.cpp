// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Small pieces of the IMAP session: libetpan object builders, FETCH response facts, the
// mapping of libetpan's error codes to our Error, and mailbox names on the wire.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include "fetch/imap_internal.hpp"
#include "core/text.hpp"

namespace clamfetch::fetch::imap {

SetPtr uid_set(std::set<uint32_t> const& uids) {
  SetPtr set(mailimap_set_new_empty());
  if (!set) return nullptr;
  auto it = uids.begin();
  while (it != uids.end()) {
    uint32_t first = *it;
    uint32_t last = first;
    for (++it; it != uids.end() && *it == last + 1; ++it) last = *it;
    int r = first == last ? mailimap_set_add_single(set.get(), first)
                          : mailimap_set_add_interval(set.get(), first, last);
    if (r != MAILIMAP_NO_ERROR) return nullptr;
  }
  return set;
}

// Adds `att` to `type`, taking ownership of it either way.
static bool add_att(mailimap_fetch_type* type, mailimap_fetch_att* att) {
  if (att == nullptr) return false;
  if (mailimap_fetch_type_new_fetch_att_list_add(type, att) != MAILIMAP_NO_ERROR) {
    mailimap_fetch_att_free(att);
    return false;
  }
  return true;
}

FetchTypePtr fetch_uid_size() {
  FetchTypePtr type(mailimap_fetch_type_new_fetch_att_list_empty());
  if (!type || !add_att(type.get(), mailimap_fetch_att_new_uid()) ||
      !add_att(type.get(), mailimap_fetch_att_new_rfc822_size()) ||
      !add_att(type.get(), mailimap_fetch_att_new_flags())) {
    return nullptr;
  }
  return type;
}

FetchTypePtr fetch_uid_body() {
  FetchTypePtr type(mailimap_fetch_type_new_fetch_att_list_empty());
  if (!type || !add_att(type.get(), mailimap_fetch_att_new_uid())) return nullptr;
  // BODY.PEEK[]: the whole message, and the server does not set \Seen (keep mode).
  mailimap_section* section = mailimap_section_new(nullptr);
  if (section == nullptr) return nullptr;
  mailimap_fetch_att* body = mailimap_fetch_att_new_body_peek_section(section);
  if (body == nullptr) {
    mailimap_section_free(section);
    return nullptr;
  }
  if (!add_att(type.get(), body)) return nullptr;
  return type;
}

StoreFlagsPtr add_flag_silent(bool deleted) {
  mailimap_flag_list* flags = mailimap_flag_list_new_empty();
  if (flags == nullptr) return nullptr;
  mailimap_flag* flag = deleted ? mailimap_flag_new_deleted() : mailimap_flag_new_seen();
  if (flag == nullptr || mailimap_flag_list_add(flags, flag) != MAILIMAP_NO_ERROR) {
    if (flag != nullptr) mailimap_flag_free(flag);
    mailimap_flag_list_free(flags);
    return nullptr;
  }
  StoreFlagsPtr store(mailimap_store_att_flags_new_add_flags_silent(flags));
  if (!store) mailimap_flag_list_free(flags);
  return store;
}

// \Seen and \Deleted out of a FLAGS item (other flags do not matter here).
static void take_flags(const mailimap_msg_att_dynamic* dyn, AttFacts& facts) {
  facts.has_flags = true;
  if (dyn->att_list == nullptr) return;
  for (clistiter* cur = clist_begin(dyn->att_list); cur != nullptr; cur = clist_next(cur)) {
    auto* fetched = static_cast<mailimap_flag_fetch*>(clist_content(cur));
    if (fetched == nullptr || fetched->fl_type != MAILIMAP_FLAG_FETCH_OTHER ||
        fetched->fl_flag == nullptr) {
      continue;
    }
    if (fetched->fl_flag->fl_type == MAILIMAP_FLAG_SEEN) facts.seen = true;
    if (fetched->fl_flag->fl_type == MAILIMAP_FLAG_DELETED) facts.deleted = true;
  }
}

AttFacts att_facts(const mailimap_msg_att* att) {
  AttFacts facts;
  facts.seq = att->att_number;
  for (clistiter* cur = clist_begin(att->att_list); cur != nullptr; cur = clist_next(cur)) {
    auto* item = static_cast<mailimap_msg_att_item*>(clist_content(cur));
    if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC && item->att_data.att_dyn != nullptr) {
      take_flags(item->att_data.att_dyn, facts);
      continue;
    }
    if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC || item->att_data.att_static == nullptr) {
      continue;
    }
    const mailimap_msg_att_static* item_static = item->att_data.att_static;
    switch (item_static->att_type) {
      case MAILIMAP_MSG_ATT_UID:
        facts.uid = item_static->att_data.att_uid;
        break;
      case MAILIMAP_MSG_ATT_RFC822_SIZE:
        facts.has_size = true;
        facts.size = item_static->att_data.att_rfc822_size;
        break;
      case MAILIMAP_MSG_ATT_BODY_SECTION:
        facts.has_body = true;
        break;
      default:
        break;
    }
  }
  return facts;
}

// libetpan keeps a capability list of NULL after an empty "[CAPABILITY]" response code and
// its mailimap_has_* then dereference it (found by tests/fuzz/imap_fuzz): ask only when a list
// is there.
static bool capability_list_present(const mailimap* imap) {
  const auto* info = imap->imap_connection_info;
  return info != nullptr && info->imap_capability != nullptr &&
         info->imap_capability->cap_list != nullptr;
}

bool has_extension(mailimap* imap, const char* name) {
  return capability_list_present(imap) && mailimap_has_extension(imap, name) != 0;
}

bool has_authentication(mailimap* imap, const char* mechanism) {
  return capability_list_present(imap) && mailimap_has_authentication(imap, mechanism) != 0;
}

uint32_t parse_uid(std::string_view text) {
  uint32_t uid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), uid);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  return uid;
}

std::string printable(const char* text) {
  return text == nullptr ? std::string() : clamfetch::printable(text);
}

static std::string with_text(std::string base, const char* server_text) {
  std::string text = printable(server_text);
  if (!text.empty()) base += ": " + text;
  return base;
}

Error session_error(int code, const std::string& account, std::string_view what,
                    bool timed_out, int timeout_seconds, const char* server_text) {
  const std::string prefix = account + ": ";
  const std::string doing(what);
  switch (code) {
    case MAILIMAP_ERROR_STREAM:
      if (timed_out) {
        return make_error(Kind::timeout, Scope::account,
                          prefix + "server did not answer within " +
                              std::to_string(timeout_seconds) + " s (" + doing + ")");
      }
      return make_error(Kind::connect, Scope::account,
                        prefix + "connection lost (" + doing + ")");
    case MAILIMAP_ERROR_PARSE:
      return make_error(Kind::protocol, Scope::account,
                        prefix + "malformed server reply (" + doing + ")");
    case MAILIMAP_ERROR_PROTOCOL:
      return make_error(Kind::protocol, Scope::account,
                        with_text(prefix + "server rejected " + doing + " as BAD", server_text));
    case MAILIMAP_ERROR_FATAL:
      return make_error(Kind::server, Scope::account,
                        with_text(prefix + "server ended the session (BYE) during " + doing,
                                  server_text));
    case MAILIMAP_ERROR_MEMORY:
      return make_error(Kind::internal, Scope::account, prefix + "out of memory (" + doing + ")");
    case MAILIMAP_ERROR_SSL:
    case MAILIMAP_ERROR_STARTTLS:
      return make_error(Kind::tls, Scope::account,
                        with_text(prefix + doing + " failed", server_text));
    case MAILIMAP_ERROR_BAD_STATE:
      return make_error(Kind::internal, Scope::account,
                        prefix + doing + " in the wrong protocol state");
    default:
      return make_error(Kind::server, Scope::account,
                        with_text(prefix + doing + " failed (libetpan error " +
                                      std::to_string(code) + ")",
                                  server_text));
  }
}

}  // namespace clamfetch::fetch::imap

namespace clamfetch::fetch::imap {

namespace {

// Code points of valid UTF-8, or false.
bool decode_utf8(std::string_view text, std::vector<uint32_t>& out) {
  for (std::size_t i = 0; i < text.size();) {
    auto lead = static_cast<unsigned char>(text[i]);
    int extra = lead < 0x80 ? 0 : (lead & 0xe0) == 0xc0 ? 1 : (lead & 0xf0) == 0xe0 ? 2 : (lead & 0xf8) == 0xf0 ? 3 : -1;
    if (extra < 0 || text.size() - i <= static_cast<std::size_t>(extra)) return false;
    uint32_t cp = extra == 0 ? lead : lead & (0x3f >> extra);
    for (int k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    out.push_back(cp);
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

// "&" + modified base64 (",", not "/"; no padding) of UTF-16BE + "-".
std::string encode_run(const std::vector<uint16_t>& units) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
  std::string bytes;
  for (uint16_t u : units) {
    bytes += static_cast<char>(u >> 8);
    bytes += static_cast<char>(u & 0xff);
  }
  std::string out = "&";
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3f];
  return out + "-";
}

// Whether an ASCII name is already modified UTF-7: every '&' opens "&-" or a base64 run
// closed by '-'. "Entw&APw-rfe" (as a fetchmailrc may carry it) is; "Q&A" is not.
bool is_modified_utf7(std::string_view name) {
  for (std::size_t at = name.find('&'); at != std::string_view::npos; at = name.find('&', at)) {
    std::size_t end = at + 1;
    while (end < name.size() && (std::isalnum(static_cast<unsigned char>(name[end])) ||
                                 name[end] == '+' || name[end] == ',')) {
      ++end;
    }
    if (end >= name.size() || name[end] != '-') return false;
    at = end + 1;
  }
  return true;
}

}  // namespace

std::string mailbox_name(std::string_view folder) {
  bool ascii = std::all_of(folder.begin(), folder.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii && is_modified_utf7(folder)) return std::string(folder);
  std::vector<uint32_t> points;
  if (!decode_utf8(folder, points)) return std::string(folder);
  std::string out;
  std::vector<uint16_t> run;
  for (uint32_t cp : points) {
    if (cp >= 0x20 && cp <= 0x7e) {
      if (!run.empty()) out += encode_run(run);
      run.clear();
      out += cp == '&' ? std::string("&-") : std::string(1, static_cast<char>(cp));
    } else if (cp > 0xffff) {
      run.push_back(static_cast<uint16_t>(0xd800 + ((cp - 0x10000) >> 10)));
      run.push_back(static_cast<uint16_t>(0xdc00 + ((cp - 0x10000) & 0x3ff)));
    } else {
      run.push_back(static_cast<uint16_t>(cp));
    }
  }
  if (!run.empty()) out += encode_run(run);
  return out;
}

}  // namespace clamfetch::fetch::imap
