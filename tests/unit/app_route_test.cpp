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

TEST_CASE("after the MTA: only 2xx or an antispam refusal acknowledges") {
  using O = deliver::Outcome::Status;
  std::vector<int> antispam{571, 550, 501, 554};
  struct Row { O status; int code; bool bouncemail; std::string sender; AfterMta expected; };
  std::vector<Row> rows = {
      {O::delivered, 250, false, "a@b", AfterMta::acknowledge},
      {O::temporary, 451, false, "a@b", AfterMta::keep},
      {O::temporary, 421, true, "a@b", AfterMta::keep},
      {O::unreachable, 0, false, "a@b", AfterMta::keep},
      {O::permanent, 550, false, "a@b", AfterMta::acknowledge},   // antispam: dropped
      {O::permanent, 554, true, "a@b", AfterMta::acknowledge},
      {O::permanent, 552, false, "a@b", AfterMta::notify_postmaster},
      {O::permanent, 553, true, "a@b", AfterMta::bounce},
      {O::permanent, 553, true, "", AfterMta::notify_postmaster},  // never bounce to <>
      {O::permanent, 511, false, "", AfterMta::notify_postmaster},
  };
  for (const auto& row : rows) {
    INFO("status " << static_cast<int>(row.status) << " code " << row.code);
    CHECK(after_delivery(outcome(row.status, row.code), antispam, row.bouncemail, row.sender) == row.expected);
  }
  // antispam = [] (fetchmail's "antispam -1"): a 550 is a refusal, not spam.
  CHECK(after_delivery(outcome(O::permanent, 550), {}, false, "a@b") == AfterMta::notify_postmaster);
}

TEST_CASE("a report, notice or bounce acknowledges the original only when accepted") {
  using O = deliver::Outcome::Status;
  CHECK(after_secondary(outcome(O::delivered, 250)) == AfterMta::acknowledge);
  CHECK(after_secondary(outcome(O::temporary, 451)) == AfterMta::keep);
  CHECK(after_secondary(outcome(O::permanent, 550)) == AfterMta::keep);
  CHECK(after_secondary(outcome(O::unreachable, 0)) == AfterMta::keep);
}
