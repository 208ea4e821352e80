// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
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
    case S::limits:
      switch (policy.on_limits) {
        case rc::OnLimits::accept: return Route::deliver;
        case rc::OnLimits::defer: return Route::defer;
        case rc::OnLimits::quarantine: return Route::divert;
      }
      return Route::defer;
  }
  return Route::defer;
}

bool is_antispam(int code, const std::vector<int>& antispam) {
  return std::find(antispam.begin(), antispam.end(), code) != antispam.end();
}

Fate fate(const deliver::Reply& reply) {
  if (reply.code >= 200 && reply.code < 300) return Fate::delivered;
  if (reply.code >= 500 && reply.code < 600) return Fate::refused;
  return Fate::retry;
}

namespace {

MtaDecision keep_all(const std::vector<std::string>& recipients) {
  MtaDecision d;
  d.next = MtaDecision::Next::keep;
  d.retry = recipients;
  return d;
}

MtaDecision::Notice notice_for(bool bouncemail, const std::string& sender) {
  // fetchmail: a refused message is bounced to its sender, or with "no bouncemail" (and
  // always for the null sender, which must never get a bounce) sent to the postmaster.
  return bouncemail && !sender.empty() ? MtaDecision::Notice::bounce
                                       : MtaDecision::Notice::postmaster;
}

}  // namespace

MtaDecision decide_delivery(const deliver::Outcome& outcome,
                            const std::vector<std::string>& recipients,
                            const std::vector<int>& antispam, bool bouncemail,
                            const std::string& sender) {
  using Stage = deliver::Outcome::Stage;
  if (outcome.stage == Stage::session) return keep_all(recipients);
  if (outcome.stage == Stage::mail) {
    if (fate(outcome.reply) != Fate::refused) return keep_all(recipients);
    MtaDecision d;
    if (!outcome.local && is_antispam(outcome.reply.code, antispam)) {
      d.next = MtaDecision::Next::drop_spam;
      return d;
    }
    d.next = MtaDecision::Next::notify;
    d.notice = notice_for(bouncemail, sender);
    for (const auto& r : recipients) d.refused.emplace_back(r, outcome.reply);
    return d;
  }
  // Past MAIL FROM every recipient has a final reply; without one the state is unknown.
  if (outcome.per_recipient.size() != recipients.size()) return keep_all(recipients);
  MtaDecision d;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    switch (fate(outcome.per_recipient[i])) {
      case Fate::delivered: d.delivered.push_back(recipients[i]); break;
      case Fate::retry: d.retry.push_back(recipients[i]); break;
      case Fate::refused: d.refused.emplace_back(recipients[i], outcome.per_recipient[i]); break;
    }
  }
  if (!d.retry.empty()) {
    // The refused are told once, when nothing is left to retry: a notice now would be sent
    // again with the retry.
    d.next = MtaDecision::Next::keep;
  } else if (!d.refused.empty()) {
    d.next = MtaDecision::Next::notify;
    d.notice = notice_for(bouncemail, sender);
  } else {
    d.next = MtaDecision::Next::acknowledge;
  }
  return d;
}

bool accepted(const deliver::Outcome& outcome) {
  if (outcome.status != deliver::Outcome::Status::delivered) return false;
  return std::all_of(outcome.per_recipient.begin(), outcome.per_recipient.end(),
                     [](const deliver::Reply& r) { return fate(r) == Fate::delivered; });
}

}  // namespace clamfetch::app
