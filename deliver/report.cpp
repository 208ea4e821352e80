// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The messages clamfetch writes itself: the postmaster report about an infected message, the
// postmaster notice about a permanently refused one, and the DSN bounce to the sender
// (RFC 3462 multipart/report, RFC 3464 delivery-status). All CRLF; every value taken from the
// original goes through mime::one_line, so none can end a header or fake a MIME boundary.

#include "core/headers.hpp"
#include "core/text.hpp"
#include "deliver/deliver.hpp"
#include "deliver/mime.hpp"

namespace clamfetch::deliver {
namespace {

// Originals above this size are returned to a sender as headers only (Postfix's
// bounce_size_limit): a bounce must not double a big message's traffic.
constexpr std::size_t kBounceFullLimit = 50000;

// "name@host" without the brackets, quotes or line ends that would break "<...>".
std::string address(std::string_view value) {
  std::string out;
  for (char c : mime::one_line(value, 254)) {
    if (c != '<' && c != '>' && c != '"' && c != ' ' && c != ',') out += c;
  }
  return out;
}

// "Label: value" for a text part, one line whatever the value held.
std::string field(std::string_view label, std::string_view value) {
  return std::string(label) + ": " + mime::one_line(value, 998 - label.size() - 2) + "\r\n";
}

// Date, Message-ID, MIME-Version and Content-Type of a multipart message of ours.
std::string common_headers(std::time_t when, std::string_view host, std::string_view type,
                           std::string_view boundary) {
  return "Date: " + rfc5322_date(when) + "\r\nMessage-ID: " + mime::message_id(host) +
         "\r\nMIME-Version: 1.0\r\nContent-Type: " + std::string(type) + "; boundary=\"" +
         std::string(boundary) + "\"\r\n";
}

std::string text_part(std::string_view boundary, std::string_view text) {
  bool ascii = mime::is_ascii(text);
  return "--" + std::string(boundary) + "\r\nContent-Type: text/plain; charset=" +
         (ascii ? "us-ascii" : "utf-8") + "\r\nContent-Transfer-Encoding: " +
         (ascii ? "7bit" : "8bit") + "\r\n\r\n" + std::string(text) + "\r\n";
}

// The original as an attached message/rfc822 part (or its header as text/rfc822-headers).
std::string original_part(std::string_view boundary, std::string_view original, bool headers_only,
                          std::string_view description) {
  std::string body = mime::attached(headers_only
                                        ? original.substr(0, headers::header_end(original))
                                        : original);
  return "--" + std::string(boundary) + "\r\nContent-Type: " +
         (headers_only ? "text/rfc822-headers" : "message/rfc822") +
         "\r\nContent-Description: " + std::string(description) +
         "\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: " +
         mime::transfer_encoding(body) + "\r\n\r\n" + body +
         "\r\n";  // the CRLF before a boundary belongs to it: the original keeps its last one
}

std::string closing(std::string_view boundary) {
  return "--" + std::string(boundary) + "--\r\n";
}

std::string reply_line(const Reply& reply) {
  return reply.code > 0 ? std::to_string(reply.code) + " " + reply.text : reply.text;
}

// Recipient i's refusal: its own reply when known, else the first refusal.
const Reply& refusal_of(const RefusalFacts& facts, std::size_t i) {
  return i < facts.replies.size() ? facts.replies[i] : facts.reply;
}

// The enhanced status code ("5.1.1") at the start of a reply's text, else "5.0.0".
std::string enhanced_status(const Reply& reply) {
  std::string_view t = reply.text;
  std::size_t n = 0;
  int dots = 0;
  while (n < t.size() && n < 12 && ((t[n] >= '0' && t[n] <= '9') || t[n] == '.')) {
    dots += t[n] == '.';
    ++n;
  }
  if (dots == 2 && n >= 5 && (t[0] == '4' || t[0] == '5') && t[1] == '.' && t[n - 1] != '.') {
    return std::string(t.substr(0, n));
  }
  return reply.code >= 400 && reply.code < 500 ? "4.0.0" : "5.0.0";
}

}  // namespace

std::string build_report(const ReportFacts& facts, std::string_view original) {
  std::string boundary = mime::boundary(original);
  std::string virus = mime::one_line(facts.virus, 200);
  std::string postmaster = address(facts.postmaster);
  std::string text =
      "clamfetch found a virus in a message and did not deliver it to its recipient.\r\n"
      "The original is attached.\r\n\r\n" +
      field("Virus Name", facts.virus) + field("Message Key", facts.key) +
      field("Message-ID", facts.message_id) + field("Date", facts.date) +
      field("Subject", facts.subject) + field("Sender", facts.sender) +
      field("Destination", join(facts.recipients, ", ")) +
      field("Scanned by", facts.scan_host + " at " + rfc5322_date(facts.scanned_at) +
                              " (clamfetch " + facts.version + ")");
  if (!facts.quarantine_id.empty()) {
    text += field("Quarantine ID", facts.quarantine_id);
    text += field("Release with", facts.release_command);
  }
  if (facts.headers_only) {
    text += "\r\nThe MTA refused this report with the whole original attached: only its header\r\n"
            "is attached; the original is in the quarantine.\r\n";
  }
  return "From: \"clamfetch\" <" + postmaster + ">\r\nTo: <" + postmaster + ">\r\n" +
         mime::header("Subject", "[clamfetch] virus " + virus + " in mail for " +
                                     join(facts.recipients, ", ")) +
         common_headers(facts.scanned_at, facts.scan_host, "multipart/mixed", boundary) +
         "X-Virus-Status: Infected (" + virus + ")\r\nAuto-Submitted: auto-generated\r\n" +
         "\r\nThis is a MIME-formatted message.\r\n\r\n" + text_part(boundary, text) +
         original_part(boundary, original, facts.headers_only, "infected message") +
         closing(boundary);
}

std::string build_refusal_notice(const RefusalFacts& facts, std::string_view original) {
  std::string boundary = mime::boundary(original);
  std::string postmaster = address(facts.postmaster);
  std::string text =
      "The local MTA refused this message permanently for the recipients below. clamfetch\r\n"
      "sends it to the postmaster instead of bouncing it (bouncemail = false, or the null\r\n"
      "sender). " +
      std::string(facts.headers_only ? "Its header is attached; the original is kept in the\r\n"
                                       "quarantine.\r\n\r\n"
                                     : "The original is attached.\r\n\r\n") +
      field("Message Key", facts.key) + field("Sender", facts.sender) +
      field("Destination", join(facts.recipients, ", ")) + field("MTA Reply", reply_line(facts.reply));
  if (facts.recipients.size() > 1) {
    for (std::size_t i = 0; i < facts.recipients.size(); ++i) {
      text += field("Refused", facts.recipients[i] + ": " + reply_line(refusal_of(facts, i)));
    }
  }
  if (!facts.quarantine_id.empty()) {
    text += field("Quarantine ID", facts.quarantine_id);
    text += field("Release with", facts.release_command);
  }
  text += field("Reported by", facts.reporting_host + " at " + rfc5322_date(facts.when) +
                                   " (clamfetch " + facts.version + ")");
  return "From: \"clamfetch\" <" + postmaster + ">\r\nTo: <" + postmaster + ">\r\n" +
         mime::header("Subject", "[clamfetch] mail for " + join(facts.recipients, ", ") +
                                     " refused by the MTA (" + std::to_string(facts.reply.code) +
                                     ")") +
         common_headers(facts.when, facts.reporting_host, "multipart/mixed", boundary) +
         "Auto-Submitted: auto-generated\r\n\r\nThis is a MIME-formatted message.\r\n\r\n" +
         text_part(boundary, text) +
         original_part(boundary, original, facts.headers_only, "refused message") + closing(boundary);
}

std::string build_bounce(const RefusalFacts& facts, std::string_view original) {
  std::string boundary = mime::boundary(original);
  std::string host = address(facts.reporting_host);
  std::string sender = address(facts.sender);
  std::string text = "This is the mail system at host " + host +
                     " (clamfetch).\r\n\r\nYour message could not be delivered to one or more "
                     "recipients. The mail system's reply:\r\n\r\n";
  std::string status = "Reporting-MTA: dns; " + host + "\r\nArrival-Date: " +
                       rfc5322_date(facts.when) + "\r\n";
  for (std::size_t i = 0; i < facts.recipients.size(); ++i) {
    const Reply& reply = refusal_of(facts, i);
    std::string diagnostic = mime::one_line(reply_line(reply), 900);
    std::string rcpt = address(facts.recipients[i]);
    text += "<" + rcpt + ">: " + diagnostic + "\r\n";
    status += "\r\nFinal-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: " +
              enhanced_status(reply) + "\r\nDiagnostic-Code: smtp; " + diagnostic + "\r\n";
  }
  bool headers_only = original.size() > kBounceFullLimit;
  return "From: \"Mail Delivery System\" <MAILER-DAEMON@" + host + ">\r\n" +
         (sender.empty() ? std::string("To: undisclosed-recipients:;\r\n")
                         : "To: <" + sender + ">\r\n") +
         "Subject: Undelivered Mail Returned to Sender\r\n" +
         common_headers(facts.when, host, "multipart/report; report-type=delivery-status",
                        boundary) +
         "Auto-Submitted: auto-replied\r\n\r\nThis is a MIME-formatted message.\r\n\r\n" +
         text_part(boundary, text) + "--" + boundary +
         "\r\nContent-Type: message/delivery-status\r\n\r\n" + status + "\r\n" +
         original_part(boundary, original, headers_only, "undelivered message") +
         closing(boundary);
}

std::string build_deferral_notice(const DeferralFacts& facts) {
  std::string postmaster = address(facts.postmaster);
  std::string text =
      "clamfetch could not hand this message on, the same way on several polls. It stays on\r\n"
      "the server and is tried again less and less often; this notice is sent once.\r\n\r\n" +
      field("Message Key", facts.key) + field("Account", facts.account) +
      field("Message-ID", facts.message_id) + field("Subject", facts.subject) +
      field("Sender", facts.sender) + field("Destination", join(facts.recipients, ", ")) +
      field("Reason", facts.reason) + field("Attempts", std::to_string(facts.attempts)) +
      field("First failure", rfc5322_date(facts.first)) +
      field("Next attempt", rfc5322_date(facts.next)) + field("What resolves it", facts.remedy) +
      field("Reported by", facts.reporting_host + " at " + rfc5322_date(facts.when) +
                               " (clamfetch " + facts.version + ")");
  bool ascii = mime::is_ascii(text);
  return "From: \"clamfetch\" <" + postmaster + ">\r\nTo: <" + postmaster + ">\r\n" +
         mime::header("Subject", "[clamfetch] message " + facts.key + " deferred " +
                                     std::to_string(facts.attempts) + " times") +
         "Date: " + rfc5322_date(facts.when) + "\r\nMessage-ID: " +
         mime::message_id(facts.reporting_host) + "\r\nMIME-Version: 1.0\r\n" +
         "Content-Type: text/plain; charset=" + (ascii ? "us-ascii" : "utf-8") +
         "\r\nContent-Transfer-Encoding: " + (ascii ? "7bit" : "8bit") +
         "\r\nAuto-Submitted: auto-generated\r\n\r\n" + text;
}

}  // namespace clamfetch::deliver
