#include "app/route.hpp"

#include <algorithm>

namespace clamfetch::app {

Route route(const Verdict& verdict, const rc::Scan& policy) {
  using S = Verdict::Status;
  switch (verdict.status) {
    case S::clean:
    case S::allowlisted:
    case S::not_scanned:
      return Route::deliver;
    case S::infected:
      switch (policy.on_infected) {
        case rc::OnInfected::quarantine: return Route::divert;
        case rc::OnInfected::accept: return Route::deliver;
        case rc::OnInfected::discard: return Route::drop;
      }
      return Route::divert;
    case S::error:
      return policy.on_fail == rc::OnFail::accept ? Route::deliver : Route::defer;
    case S::oversize:
      switch (policy.on_oversize) {
        case rc::OnOversize::accept: return Route::deliver;
        case rc::OnOversize::defer: return Route::defer;
        case rc::OnOversize::quarantine: return Route::divert;
      }
      return Route::defer;
  }
  return Route::defer;
}

bool is_antispam(int code, const std::vector<int>& antispam) {
  return std::find(antispam.begin(), antispam.end(), code) != antispam.end();
}

AfterMta after_delivery(const deliver::Outcome& outcome, const std::vector<int>& antispam,
                        bool bouncemail, const std::string& sender) {
  using S = deliver::Outcome::Status;
  switch (outcome.status) {
    case S::delivered: return AfterMta::acknowledge;
    case S::temporary:
    case S::unreachable: return AfterMta::keep;
    case S::permanent:
      if (is_antispam(outcome.reply.code, antispam)) return AfterMta::acknowledge;
      // fetchmail: a refused message is bounced to its sender, or with "no bouncemail"
      // (and always for the null sender, which must never get a bounce) to the postmaster.
      if (bouncemail && !sender.empty()) return AfterMta::bounce;
      return AfterMta::notify_postmaster;
  }
  return AfterMta::keep;
}

AfterMta after_secondary(const deliver::Outcome& outcome) {
  return outcome.status == deliver::Outcome::Status::delivered ? AfterMta::acknowledge
                                                                : AfterMta::keep;
}

}  // namespace clamfetch::app
