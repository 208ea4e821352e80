// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The IMAP protocol trace: libetpan's stream logger hands us raw chunks in both directions;
// we cut them into protocol lines, hide secrets and skip literal bodies.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "fetch/imap_internal.hpp"
#include "core/text.hpp"

namespace clamfetch::fetch::imap {

namespace {

constexpr std::size_t kMaxTraceLine = 1000;  // longer lines are shown cut
constexpr std::size_t kKeepTail = 40;        // enough of a cut line's end to see "{123}"
constexpr const char* kMask = "********";

std::string_view strip_eol(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

// A sent line that carries a secret: keep the tag and command word of LOGIN / AUTHENTICATE
// (and the mechanism name), mask everything else.
std::string masked(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < line.size() && words.size() < 3) {
    auto space = line.find(' ', pos);
    if (space == std::string_view::npos) space = line.size();
    words.push_back(line.substr(pos, space - pos));
    pos = space + 1;
  }
  if (words.size() >= 2 && iequals(words[1], "LOGIN")) {
    return std::string(words[0]) + " LOGIN " + kMask;
  }
  if (words.size() >= 3 && iequals(words[1], "AUTHENTICATE")) {
    std::string out = std::string(words[0]) + " AUTHENTICATE " + std::string(words[2]);
    if (pos < line.size()) out += std::string(" ") + kMask;  // SASL-IR initial response
    return out;
  }
  return kMask;
}

}  // namespace

uint64_t literal_size(std::string_view line) {
  if (line.empty() || line.back() != '}') return 0;
  auto open = line.rfind('{');
  if (open == std::string_view::npos) return 0;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
  uint64_t size = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
  if (end != digits.data() + digits.size()) return 0;
  if (ec == std::errc::result_out_of_range) return UINT64_MAX;
  return ec == std::errc() ? size : 0;
}

bool LiteralGuard::scan_braces(std::string_view line_part) noexcept {
  for (char c : line_part) {
    if (in_brace_) {
      if (c >= '0' && c <= '9' && !brace_plus_) {
        unsigned digit = static_cast<unsigned>(c - '0');
        brace_size_ = brace_size_ > (UINT64_MAX - digit) / 10 ? UINT64_MAX : brace_size_ * 10 + digit;
        ++brace_digits_;
      } else if (c == '+' && brace_digits_ > 0 && !brace_plus_) {
        brace_plus_ = true;
      } else {
        if (c == '}' && brace_digits_ > 0 &&
            brace_size_ > (brace_body_ ? kMaxBodyLiteral : kMaxLiteral)) {
          refused_ = brace_size_;
          return false;
        }
        in_brace_ = false;
      }
    }
    if (c == '{') {
      in_brace_ = true;
      brace_plus_ = false;
      brace_body_ = last_ == ']' || last_ == '>';
      brace_digits_ = 0;
      brace_size_ = 0;
    }
    if (c == '\n') {
      in_brace_ = false;
      last_ = 0;
    } else if (c != ' ') {
      last_ = c;
    }
  }
  return true;
}

bool LiteralGuard::accept(std::string_view data) noexcept {
  if (refused_ != 0) return false;
  while (!data.empty()) {
    if (literal_left_ > 0) {
      auto skip = static_cast<std::size_t>(std::min<uint64_t>(literal_left_, data.size()));
      literal_left_ -= skip;
      data.remove_prefix(skip);
      continue;
    }
    auto newline = data.find('\n');
    std::size_t take = newline == std::string_view::npos ? data.size() : newline + 1;
    if (!scan_braces(data.substr(0, take))) return false;
    // Only the end of a line matters ("... BODY[] {123}"): keep the last octets of it.
    std::string_view piece = data.substr(0, take);
    if (piece.size() > kKeep) piece = piece.substr(piece.size() - kKeep);
    std::size_t total = tail_length_ + piece.size();
    if (total > kKeep) {
      std::size_t drop = total - kKeep;
      std::memmove(tail_, tail_ + drop, tail_length_ - drop);
      tail_length_ -= drop;
    }
    std::memcpy(tail_ + tail_length_, piece.data(), piece.size());
    tail_length_ += piece.size();
    data.remove_prefix(take);
    if (newline == std::string_view::npos) continue;
    std::string_view line = strip_eol(std::string_view(tail_, tail_length_));
    tail_length_ = 0;
    uint64_t size = literal_size(line);
    if (size == 0) continue;
    std::string_view before = line.substr(0, line.rfind('{'));
    while (!before.empty() && before.back() == ' ') before.remove_suffix(1);
    bool body = !before.empty() && (before.back() == ']' || before.back() == '>');
    if (size > (body ? kMaxBodyLiteral : kMaxLiteral)) {
      refused_ = size;
      return false;
    }
    literal_left_ = size;
  }
  return true;
}

Trace::Trace(Log& log, std::string account)
    : log_(log),
      account_(std::move(account)),
      tracing_(log.tracing(Channel::net)) {}

void Trace::event(int log_type, const char* data, std::size_t size) noexcept {
  try {
    std::string_view chunk(data == nullptr ? "" : data, data == nullptr ? 0 : size);
    switch (log_type) {
      case MAILSTREAM_LOG_TYPE_DATA_RECEIVED:
        received(chunk);
        break;
      case MAILSTREAM_LOG_TYPE_DATA_SENT:
        sent(chunk, false);
        break;
      case MAILSTREAM_LOG_TYPE_DATA_SENT_PRIVATE:
        sent(chunk, true);
        break;
      case MAILSTREAM_LOG_TYPE_ERROR_PARSE:
        // The unparsed rest of a reply; literals are not part of it. Shown cut.
        log_.trace(Channel::net, account_ + ": IMAP! cannot parse: " +
                                     std::string(strip_eol(chunk.substr(0, 200))));
        break;
      default:
        break;
    }
  } catch (...) {
    // A trace line lost to an allocation failure must not take the session down.
  }
}

void Trace::received(std::string_view data) {
  while (!data.empty()) {
    if (literal_left_ > 0) {
      auto skip = static_cast<std::size_t>(std::min<uint64_t>(literal_left_, data.size()));
      literal_left_ -= skip;
      data.remove_prefix(skip);
      continue;
    }
    auto newline = data.find('\n');
    std::size_t take = newline == std::string_view::npos ? data.size() : newline + 1;
    in_line_.append(data.substr(0, take));
    in_line_length_ += take;
    if (in_line_.size() > 2 * kMaxTraceLine) {
      // Keep the head for display and the tail for literal detection.
      in_line_.erase(kMaxTraceLine, in_line_.size() - kMaxTraceLine - kKeepTail);
    }
    data.remove_prefix(take);
    if (newline != std::string_view::npos) emit_received_line();
  }
}

void Trace::emit_received_line() {
  std::string_view line = strip_eol(in_line_);
  literal_left_ = literal_size(line);
  std::string shown(line.substr(0, kMaxTraceLine));
  if (in_line_length_ > in_line_.size()) {
    shown += " ... (" + std::to_string(in_line_length_) + " octets)";
  }
  if (literal_left_ > 0) shown += " <" + std::to_string(literal_left_) + " octets not shown>";
  log_.trace(Channel::net, account_ + ": IMAP< " + shown);
  in_line_.clear();
  in_line_length_ = 0;
}

void Trace::sent(std::string_view data, bool secret) {
  while (!data.empty()) {
    auto newline = data.find('\n');
    std::size_t take = newline == std::string_view::npos ? data.size() : newline + 1;
    if (out_line_.size() < kMaxTraceLine) out_line_.append(data.substr(0, take));
    out_secret_ = out_secret_ || secret;
    data.remove_prefix(take);
    if (newline != std::string_view::npos) emit_sent_line();
  }
}

void Trace::emit_sent_line() {
  std::string_view line = strip_eol(out_line_);
  std::string shown = out_secret_ ? masked(line) : std::string(line.substr(0, kMaxTraceLine));
  log_.trace(Channel::net, account_ + ": IMAP> " + shown);
  out_line_.clear();
  out_secret_ = false;
}

}  // namespace clamfetch::fetch::imap
