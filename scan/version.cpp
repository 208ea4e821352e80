#include <clamav.h>

#include "scan/scan.hpp"

namespace clamfetch::scan {

std::string library_version() { return cl_retver(); }

}  // namespace clamfetch::scan
