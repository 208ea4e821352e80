// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The postmaster's verbs for the quarantine: list, show, release, delete — what
// mailq / postcat / postsuper -H / postsuper -d are for clamav-milter's hold queue.

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "app/commands.hpp"
#include "app/quarantine.hpp"
#include "app/settings.hpp"
#include "core/headers.hpp"
#include "core/text.hpp"
#include "deliver/deliver.hpp"

namespace clamfetch::app {
namespace {

// Who released it, for the header: the user name, else the numeric uid.
std::string released_by() {
  std::string name = invoking_user();
  return name.empty() ? std::to_string(geteuid()) : name;
}

std::string local_time(std::time_t when) {
  char buf[32];
  std::tm tm{};
  localtime_r(&when, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

int not_found(const Error& e) {
  std::fprintf(stderr, "clamfetch: %s\n", e.text.c_str());
  return 1;
}

// The smtphost of the account the message came from; the first account's otherwise.
const rc::User* account_user(const rc::Config& config, const std::string& account) {
  const rc::User* first = nullptr;
  for (const auto& poll : config.polls) {
    for (const auto& user : poll.users) {
      if (first == nullptr) first = &user;
      if (account_name(poll, user) == account) return &user;
    }
  }
  return first;
}

}  // namespace

int quarantine_list(const rc::Config& config, const std::string& state_dir) {
  Quarantine q(quarantine_directory(config, state_dir));
  auto entries = q.list();
  if (!entries) return not_found(entries.error());
  if (entries->empty()) {
    std::printf("quarantine is empty (%s)\n", q.dir().c_str());
    return 0;
  }
  for (const auto& e : *entries) {
    std::printf("%s  %s  %s  <%s>  %s  %s  %llu\n", e.id.c_str(), local_time(e.date).c_str(),
                e.account.c_str(), e.sender.c_str(), join(e.recipients, ",").c_str(), e.virus.c_str(),
                static_cast<unsigned long long>(e.size));
  }
  return 0;
}

int quarantine_show(const rc::Config& config, const std::string& state_dir, const std::string& id) {
  Quarantine q(quarantine_directory(config, state_dir));
  auto e = q.facts(id);
  if (!e) return not_found(e.error());
  auto original = q.original(id);
  if (!original) return not_found(original.error());
  std::printf("Quarantine ID: %s\nDate: %s\nAccount: %s\nMessage Key: %s\nUID: %s\nSender: <%s>\n"
              "Recipients: %s\nVirus Name: %s\nSize: %llu\nMessage-ID: %s\nSubject: %s\n"
              "Report delivered: %s\nRelease with: clamfetch --release %s\n\n",
              e->id.c_str(), local_time(e->date).c_str(), e->account.c_str(), e->key.c_str(),
              e->uid.c_str(), e->sender.c_str(), join(e->recipients, ",").c_str(), e->virus.c_str(),
              static_cast<unsigned long long>(e->size), e->message_id.c_str(), e->subject.c_str(),
              e->reported ? "yes" : "no", e->id.c_str());
  std::string head = original->substr(0, headers::header_end(*original));
  std::fwrite(head.data(), 1, head.size(), stdout);
  return 0;
}

int quarantine_release(const rc::Config& config, const std::string& state_dir, const std::string& id,
                       const std::string& to, Log& log) {
  Quarantine q(quarantine_directory(config, state_dir));
  auto e = q.facts(id);
  if (!e) return not_found(e.error());
  auto original = q.original(id);
  if (!original) return not_found(original.error());
  const rc::User* user = account_user(config, e->account);
  if (user == nullptr) {
    std::fprintf(stderr, "clamfetch: the rc file names no account to deliver through\n");
    return 5;
  }
  // Not scanned again: the postmaster decided. The header says who released it.
  std::string host = host_name();
  std::string data = "X-Virus-Status: Released (" + e->virus + ") by " + released_by() + " on " +
                     host + "\r\n" + headers::remove(*original, "X-Virus-Status");
  deliver::Envelope env{e->sender, to.empty() ? e->recipients : std::vector<std::string>{to}};
  auto transport = deliver::make_transport(deliver_settings(user->smtphost, *user, host), log);
  auto outcome = transport->send(env, data);
  transport->close();
  if (outcome.status != deliver::Outcome::Status::delivered) {
    std::fprintf(stderr, "clamfetch: release of %s not accepted by %s: %s; the entry is kept\n",
                 id.c_str(), user->smtphost.text.c_str(),
                 (outcome.reply.code ? std::to_string(outcome.reply.code) + " " + outcome.reply.text
                                     : outcome.reply.text).c_str());
    return 10;
  }
  if (auto removed = q.remove(id); !removed) return not_found(removed.error());
  log.info("quarantine: released " + id + " (" + e->virus + ") to " + join(env.recipients, ","));
  return 0;
}

int quarantine_delete(const rc::Config& config, const std::string& state_dir, const std::string& id) {
  Quarantine q(quarantine_directory(config, state_dir));
  std::vector<std::string> ids;
  if (id == "*") {
    auto entries = q.list();
    if (!entries) return not_found(entries.error());
    for (const auto& e : *entries) ids.push_back(e.id);
  } else {
    ids.push_back(id);
  }
  for (const auto& one : ids) {
    if (auto removed = q.remove(one); !removed) return not_found(removed.error());
    std::printf("deleted %s\n", one.c_str());
  }
  return 0;
}

}  // namespace clamfetch::app
