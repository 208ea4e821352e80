// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "app/outcome_text.hpp"

#include "core/headers.hpp"

namespace clamfetch::app {

std::string recipient_replies(const deliver::Outcome& outcome, const std::vector<std::string>& rcpts) {
  std::string out;
  for (std::size_t i = 0; i < rcpts.size(); ++i) {
    int code = i < outcome.per_recipient.size() ? outcome.per_recipient[i].code : outcome.reply.code;
    out += (out.empty() ? "" : ",") + rcpts[i] + ":" + std::to_string(code);
  }
  return out;
}

std::string reply_text(const deliver::Reply& reply) {
  return (reply.code != 0 ? std::to_string(reply.code) + " " : "") + reply.text;
}

bool too_big(const deliver::Reply& reply) {
  return reply.code == 552 || reply.text.starts_with("5.3.4");
}

std::string scan_remedy(const Verdict& verdict) {
  switch (verdict.status) {
    case Verdict::Status::limits:
      return "raise the [scan] limits, or set [scan] on_limits = \"accept\" (clamd's default)";
    case Verdict::Status::oversize:
      return "raise [scan] max_file_size, or set [scan] on_oversize = \"accept\"";
    default:
      return "check the message with clamfetch --scan, or set [scan] on_fail = \"accept\"";
  }
}

std::string scan_detail(const std::string& account, const std::string& uid, const Message& m,
                        const Verdict& verdict, rc::LogDetail detail) {
  std::string line = "scan: account=" + account + " uid=" + uid + " size=" +
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

}  // namespace clamfetch::app
