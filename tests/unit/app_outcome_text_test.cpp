// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The short texts about a message's outcome: the delivery line's rcpt= field, reply texts,
// the size-refusal test and the remedies named in the postmaster's notices.
#include <catch2/catch.hpp>

#include "app/outcome_text.hpp"

using namespace clamfetch;
using namespace clamfetch::app;

TEST_CASE("rcpt= names each recipient with its own final reply") {
  deliver::Outcome o;
  o.reply = deliver::Reply{452, "4.2.2 over quota"};
  o.per_recipient = {deliver::Reply{250, "ok"}, deliver::Reply{452, "4.2.2 over quota"}};
  CHECK(recipient_replies(o, {"a@x", "b@x"}) == "a@x:250,b@x:452");
  deliver::Outcome session;   // no per-recipient replies (connection refused): the deciding one
  session.reply = deliver::Reply{0, "connection refused"};
  CHECK(recipient_replies(session, {"a@x"}) == "a@x:0");
}

TEST_CASE("reply texts, size refusals and remedies") {
  CHECK(reply_text(deliver::Reply{550, "5.1.1 unknown"}) == "550 5.1.1 unknown");
  CHECK(reply_text(deliver::Reply{0, "timeout"}) == "timeout");
  CHECK(too_big(deliver::Reply{552, "anything"}));
  CHECK(too_big(deliver::Reply{554, "5.3.4 message too big"}));
  CHECK_FALSE(too_big(deliver::Reply{550, "5.1.1 unknown"}));
  Verdict v;
  v.status = Verdict::Status::limits;
  CHECK(scan_remedy(v).find("on_limits") != std::string::npos);
  v.status = Verdict::Status::oversize;
  CHECK(scan_remedy(v).find("on_oversize") != std::string::npos);
  v.status = Verdict::Status::error;
  CHECK(scan_remedy(v).find("on_fail") != std::string::npos);
}

TEST_CASE("the scan detail line: basic names the message, full adds the envelope") {
  Message m;
  m.data = "Subject: hi\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n";
  m.envelope_from = "s@remote.example";
  m.recipients = {"a@x", "b@x"};
  Verdict v;
  v.status = Verdict::Status::clean;
  std::string basic = scan_detail("u@h", "7", m, v, rc::LogDetail::basic);
  CHECK(basic.rfind("scan: account=u@h uid=7 size=", 0) == 0);
  CHECK(basic.find("subject=") == std::string::npos);
  std::string full = scan_detail("u@h", "7", m, v, rc::LogDetail::full);
  CHECK(full.find("from=<s@remote.example> to=<a@x,b@x> subject=\"hi\" message-id=<m@x>") != std::string::npos);
}
