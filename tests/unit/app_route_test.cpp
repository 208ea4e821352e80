// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The pure routing decisions, table-tested over every verdict x policy and MTA outcome.
#include <catch2/catch.hpp>

#include "app/route.hpp"

using namespace clamfetch;
using namespace clamfetch::app;
using S = Verdict::Status;

namespace {
Verdict verdict(S status) {
  Verdict v;
  v.status = status;
  if (status == S::infected) v.virus = "Eicar-Test-Signature";
  return v;
}
deliver::Outcome outcome(deliver::Outcome::Status status, int code) {
  deliver::Outcome o;
  o.status = status;
  o.reply.code = code;
  return o;
}
}  // namespace

TEST_CASE("clean, allowlisted and unscanned-by-choice mail is delivered whatever the policy") {
  for (auto on_infected : {rc::OnInfected::quarantine, rc::OnInfected::accept, rc::OnInfected::discard}) {
    for (auto on_fail : {rc::OnFail::defer, rc::OnFail::accept}) {
      rc::Scan p;
      p.on_infected = on_infected;
      p.on_fail = on_fail;
      CHECK(route(verdict(S::clean), p) == Route::deliver);
      CHECK(route(verdict(S::allowlisted), p) == Route::deliver);
      CHECK(route(verdict(S::not_scanned), p) == Route::deliver);
    }
  }
}

TEST_CASE("infected mail follows on_infected") {
  rc::Scan p;
  p.on_infected = rc::OnInfected::quarantine;
  CHECK(route(verdict(S::infected), p) == Route::divert);
  p.on_infected = rc::OnInfected::accept;
  CHECK(route(verdict(S::infected), p) == Route::deliver);
  p.on_infected = rc::OnInfected::discard;
  CHECK(route(verdict(S::infected), p) == Route::drop);
}

TEST_CASE("a scan failure follows on_fail and is never delivered as clean by default") {
  rc::Scan p;
  CHECK(route(verdict(S::error), p) == Route::defer);
  p.on_fail = rc::OnFail::accept;
  CHECK(route(verdict(S::error), p) == Route::deliver);
}

TEST_CASE("oversize mail follows on_oversize") {
  rc::Scan p;
  CHECK(route(verdict(S::oversize), p) == Route::deliver);
  p.on_oversize = rc::OnOversize::defer;
  CHECK(route(verdict(S::oversize), p) == Route::defer);
  p.on_oversize = rc::OnOversize::quarantine;
  CHECK(route(verdict(S::oversize), p) == Route::divert);
}

TEST_CASE("limits reached inside a message follow on_limits, and clamd's default delivers") {
  rc::Scan p;
  CHECK(route(verdict(S::limits), p) == Route::deliver);
  p.on_limits = rc::OnLimits::defer;
  CHECK(route(verdict(S::limits), p) == Route::defer);
  p.on_limits = rc::OnLimits::quarantine;
  CHECK(route(verdict(S::limits), p) == Route::divert);
}

namespace {

using Stage = deliver::Outcome::Stage;
using Next = MtaDecision::Next;
using Notice = MtaDecision::Notice;

// One row of the decision table of clamfetch(1), "WHAT HAPPENS WHEN THE MTA ANSWERS".
struct Row {
  const char* what;
  Stage stage;
  int mail;                 // the MAIL FROM reply (stage mail), or the deciding reply
  std::vector<int> finals;  // each recipient's final reply (RCPT or end of DATA); 0 = none
  bool bouncemail;
  std::string sender;
  std::vector<int> antispam;
  Next next;
  Notice notice;
  std::vector<std::string> delivered, retry, refused;
};

const std::vector<std::string> kRcpts{"a@example.com", "b@example.com", "c@example.com"};

deliver::Outcome make_outcome(const Row& row) {
  deliver::Outcome o;
  o.stage = row.stage;
  o.local = row.mail < 0;   // a negative code in a row: the transport's own refusal
  o.reply.code = row.mail < 0 ? -row.mail : row.mail;
  for (int code : row.finals) o.per_recipient.push_back(deliver::Reply{code, "reply " + std::to_string(code)});
  o.status = deliver::classify(o.reply.code);
  return o;
}

std::vector<std::string> first(std::size_t n) { return {kRcpts.begin(), kRcpts.begin() + static_cast<long>(n)}; }

}  // namespace

TEST_CASE("the MTA decision table, row by row") {
  const std::string s = "sender@remote.example";
  const std::vector<int> fetchmail_antispam{571, 550, 501, 554};
  const std::vector<std::string> a{"a@example.com"}, b{"b@example.com"}, c{"c@example.com"};
  const std::vector<std::string> ab{"a@example.com", "b@example.com"}, none;
  std::vector<Row> rows = {
      // No verdict on the message: nothing was refused, every recipient is retried.
      {"connect refused / greeting 421 / EHLO 4xx / timeout", Stage::session, 0, {}, false, s, {}, Next::keep, Notice::none, none, a, none},
      {"session failure, bouncemail", Stage::session, 421, {}, true, s, {}, Next::keep, Notice::none, none, a, none},
      // MAIL FROM.
      {"MAIL 451", Stage::mail, 451, {}, false, s, {}, Next::keep, Notice::none, none, a, none},
      {"MAIL 553, no antispam, no bouncemail", Stage::mail, 553, {}, false, s, {}, Next::notify, Notice::postmaster, none, none, a},
      {"MAIL 553, bouncemail", Stage::mail, 553, {}, true, s, {}, Next::notify, Notice::bounce, none, none, a},
      {"MAIL 553, bouncemail, null sender", Stage::mail, 553, {}, true, "", {}, Next::notify, Notice::postmaster, none, none, a},
      {"MAIL 550 in antispam", Stage::mail, 550, {}, false, s, fetchmail_antispam, Next::drop_spam, Notice::none, none, none, none},
      {"MAIL 571 in antispam, bouncemail", Stage::mail, 571, {}, true, s, fetchmail_antispam, Next::drop_spam, Notice::none, none, none, none},
      {"MAIL 552 not in antispam", Stage::mail, 552, {}, false, s, fetchmail_antispam, Next::notify, Notice::postmaster, none, none, a},
      {"our local 552 (SIZE over the MTA's limit), 552 in antispam", Stage::mail, -552, {}, false, s, {552}, Next::notify, Notice::postmaster, none, none, a},
      // RCPT: antispam never applies.
      {"RCPT 550 user unknown, antispam lists 550", Stage::rcpt, 550, {550}, false, s, fetchmail_antispam, Next::notify, Notice::postmaster, none, none, a},
      {"RCPT 554 relay denied, bouncemail", Stage::rcpt, 554, {554}, true, s, fetchmail_antispam, Next::notify, Notice::bounce, none, none, a},
      {"RCPT 550 to the null sender, bouncemail", Stage::rcpt, 550, {550}, true, "", {}, Next::notify, Notice::postmaster, none, none, a},
      {"RCPT 450", Stage::rcpt, 450, {450}, false, s, {}, Next::keep, Notice::none, none, a, none},
      {"RCPT 250 + 450: nothing sent", Stage::rcpt, 450, {0, 450}, false, s, {}, Next::keep, Notice::none, none, ab, none},
      {"RCPT 550 + 450: nothing sent, no notice yet", Stage::rcpt, 450, {550, 450}, false, s, {}, Next::keep, Notice::none, none, b, a},
      {"RCPT 550 + 550", Stage::rcpt, 550, {550, 553}, false, s, {}, Next::notify, Notice::postmaster, none, none, ab},
      // End of DATA (SMTP: one reply for every accepted recipient; LMTP: one each).
      {"DATA 250", Stage::data, 250, {250}, false, s, {}, Next::acknowledge, Notice::none, a, none, none},
      {"DATA 250 for two", Stage::data, 250, {250, 250}, false, s, {}, Next::acknowledge, Notice::none, ab, none, none},
      {"DATA 451", Stage::data, 451, {451}, false, s, {}, Next::keep, Notice::none, none, a, none},
      {"DATA 552 too big", Stage::data, 552, {552}, false, s, fetchmail_antispam, Next::notify, Notice::postmaster, none, none, a},
      {"DATA 554, bouncemail", Stage::data, 554, {554}, true, s, fetchmail_antispam, Next::notify, Notice::bounce, none, none, a},
      {"no reply after the final dot", Stage::data, 0, {0}, false, s, {}, Next::keep, Notice::none, none, a, none},
      {"RCPT 550 + DATA 250 (partial acceptance)", Stage::data, 250, {550, 250}, false, s, {}, Next::notify, Notice::postmaster, b, none, a},
      {"RCPT 550 + DATA 250, bouncemail", Stage::data, 250, {550, 250}, true, s, {}, Next::notify, Notice::bounce, b, none, a},
      {"LMTP 250 + 452: the first is recorded, the second retried", Stage::data, 452, {250, 452}, false, s, {}, Next::keep, Notice::none, a, b, none},
      {"LMTP 250 + 550", Stage::data, 550, {250, 550}, false, s, {}, Next::notify, Notice::postmaster, a, none, b},
      {"LMTP 250 + 452 + 550: retry first, tell later", Stage::data, 452, {250, 452, 550}, true, s, {}, Next::keep, Notice::none, a, b, c},
      {"LMTP 250 + lost", Stage::data, 0, {250, 0}, false, s, {}, Next::keep, Notice::none, a, b, none},
      {"a code out of place (354 after the dot)", Stage::data, 354, {354}, false, s, {}, Next::keep, Notice::none, none, a, none},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    std::size_t n = row.finals.empty() ? 1 : row.finals.size();
    auto d = decide_delivery(make_outcome(row), first(n), row.antispam, row.bouncemail, row.sender);
    CHECK(d.next == row.next);
    CHECK(d.notice == row.notice);
    CHECK(d.delivered == row.delivered);
    CHECK(d.retry == row.retry);
    std::vector<std::string> refused;
    for (const auto& [rcpt, reply] : d.refused) refused.push_back(rcpt);
    CHECK(refused == row.refused);
  }
}

TEST_CASE("no combination of replies acknowledges a message some recipient lacks") {
  // Every combination of final replies for three recipients at the end of DATA.
  const int codes[] = {250, 452, 550, 0};
  for (int x : codes) for (int y : codes) for (int z : codes) {
    deliver::Outcome o;
    o.stage = Stage::data;
    o.per_recipient = {deliver::Reply{x, ""}, deliver::Reply{y, ""}, deliver::Reply{z, ""}};
    for (bool bouncemail : {false, true}) {
      auto d = decide_delivery(o, kRcpts, {550}, bouncemail, "s@remote.example");
      INFO(x << " " << y << " " << z);
      CHECK(d.delivered.size() + d.retry.size() + d.refused.size() == 3);
      if (d.next == Next::acknowledge) CHECK(d.delivered.size() == 3);
      if (d.next == Next::notify) CHECK((d.retry.empty() && !d.refused.empty()));
      if (!d.retry.empty()) CHECK(d.next == Next::keep);
      CHECK(d.next != Next::drop_spam);   // antispam is for MAIL FROM only
    }
  }
}

TEST_CASE("a report, notice or bounce counts only when the MTA accepted it") {
  using O = deliver::Outcome::Status;
  CHECK(accepted(outcome(O::delivered, 250)));
  CHECK_FALSE(accepted(outcome(O::temporary, 451)));
  CHECK_FALSE(accepted(outcome(O::permanent, 550)));
  CHECK_FALSE(accepted(outcome(O::unreachable, 0)));
}
