// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The RFC 5322 date and the Received: header clamfetch prepends to each delivered message.

#include <cstdio>
#include <cstdlib>

#include "deliver/deliver.hpp"
#include "deliver/mime.hpp"

namespace clamfetch::deliver {

std::string rfc5322_date(std::time_t when) {
  // Names spelled out: strftime's %a and %b follow the locale, RFC 5322 wants English.
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  ::localtime_r(&when, &tm);
  long offset = tm.tm_gmtoff / 60;
  char sign = offset < 0 ? '-' : '+';
  offset = std::labs(offset);
  char out[64];
  std::snprintf(out, sizeof out, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
                tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec, sign, offset / 60, offset % 60);
  return out;
}

std::string add_received(std::string_view message, const ReceivedInfo& info) {
  // Follow the message's own line ends (its first line decides; CRLF when there is none).
  std::size_t lf = message.find('\n');
  const char* eol = (lf == std::string_view::npos || (lf > 0 && message[lf - 1] == '\r'))
                        ? "\r\n" : "\n";
  auto clean = [](std::string_view value) { return mime::one_line(value, 200); };
  // The address is ours (getpeername), not the server's word; an IPv6 one gets its "IPv6:"
  // tag as in RFC 5321's address literals.
  std::string address = clean(info.server_address);
  if (address.find(':') != std::string::npos) address = "IPv6:" + address;
  std::string from = clean(info.server) + (address.empty() ? "" : " [" + address + "]");
  std::string header = "Received: from " + from + eol + "\tby " +
                       clean(info.by_host) + " with " + clean(info.protocol) + " (clamfetch " +
                       clean(info.version) + ")" + eol + "\tfor <" + clean(info.recipient) +
                       ">; " + rfc5322_date(info.when) + eol;
  std::string out;
  out.reserve(header.size() + message.size());
  out += header;
  out += message;
  return out;
}

}  // namespace clamfetch::deliver
