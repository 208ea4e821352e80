// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// ImapSession::count: STATUS MESSAGES UNSEEN, for --doctor. STATUS reads a folder's counts
// without selecting it, so no flag changes (not even \Recent) and nothing is expunged.

#include <memory>
#include <string>

#include "fetch/imap_internal.hpp"

namespace clamfetch::fetch::imap {
namespace {

struct StatusAttsFree {
  void operator()(mailimap_status_att_list* list) const { mailimap_status_att_list_free(list); }
};
struct StatusDataFree {
  void operator()(mailimap_mailbox_data_status* data) const { mailimap_mailbox_data_status_free(data); }
};

FolderCounts counts_of(const mailimap_mailbox_data_status* data) {
  FolderCounts counts;
  clist* infos = data != nullptr ? data->st_info_list : nullptr;
  for (clistiter* it = infos ? clist_begin(infos) : nullptr; it != nullptr; it = clist_next(it)) {
    const auto* info = static_cast<const mailimap_status_info*>(clist_content(it));
    if (info->st_att == MAILIMAP_STATUS_ATT_MESSAGES) counts.messages = info->st_value;
    if (info->st_att == MAILIMAP_STATUS_ATT_UNSEEN) counts.unseen = info->st_value;
  }
  return counts;
}

}  // namespace

Result<FolderCounts> ImapSession::count(const std::string& folder) {
  if (Status status = require(State::authenticated, "count"); !status) return status.error();
  std::unique_ptr<mailimap_status_att_list, StatusAttsFree> atts(mailimap_status_att_list_new_empty());
  if (!atts || mailimap_status_att_list_add(atts.get(), MAILIMAP_STATUS_ATT_MESSAGES) != MAILIMAP_NO_ERROR ||
      mailimap_status_att_list_add(atts.get(), MAILIMAP_STATUS_ATT_UNSEEN) != MAILIMAP_NO_ERROR) {
    return make_error(Kind::internal, Scope::account, prefix() + "out of memory");
  }
  mailimap_mailbox_data_status* raw = nullptr;
  // The name exactly as a run's SELECT sends it (modified UTF-7 for a UTF-8 name).
  const std::string name = mailbox_name(folder);
  int r = mailimap_status(imap_.get(), name.c_str(), atts.get(), &raw);
  std::unique_ptr<mailimap_mailbox_data_status, StatusDataFree> data(raw);
  if (r == MAILIMAP_ERROR_STATUS) {
    return make_error(Kind::server, Scope::mailbox,
                      prefix() + "no folder " + folder + ": " + printable(imap_->imap_response));
  }
  if (r != MAILIMAP_NO_ERROR) return fail(r, "STATUS " + folder);
  return counts_of(data.get());
}

}  // namespace clamfetch::fetch::imap
