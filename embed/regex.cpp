#include "embed/regex.h"

#include <oniguruma.h>

#include <mutex>

#include "base/error.h"

namespace ksearch {
namespace {

void initialize_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

}  // namespace

struct Regex::Impl {
  regex_t* regex = nullptr;
  ~Impl() {
    if (regex != nullptr) onig_free(regex);
  }
};

Regex::Regex(std::string_view pattern, std::string_view where) : impl_(std::make_unique<Impl>()) {
  initialize_oniguruma();
  OnigErrorInfo info;
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int status = onig_new(&impl_->regex, begin, begin + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                              ONIG_SYNTAX_DEFAULT, &info);
  if (status != ONIG_NORMAL) {
    impl_->regex = nullptr;
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, status, &info);
    fail(where, ": invalid regular expression \"", pattern, "\": ", reinterpret_cast<const char*>(message));
  }
}

Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

std::vector<ByteRange> Regex::find_all(std::string_view text) const {
  std::vector<ByteRange> matches;
  OnigRegion* region = onig_region_new();
  const auto* start = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = start + text.size();
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const int found = onig_search(impl_->regex, start, end, start + pos, end, region, ONIG_OPTION_NONE);
    if (found == ONIG_MISMATCH) break;
    if (found < 0) {
      onig_region_free(region, 1);
      OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
      onig_error_code_to_str(message, found);
      fail("regular expression search failed: ", reinterpret_cast<const char*>(message));
    }
    const auto match_begin = static_cast<std::uint32_t>(region->beg[0]);
    const auto match_end = static_cast<std::uint32_t>(region->end[0]);
    matches.push_back({match_begin, match_end});
    if (match_end > match_begin) {
      pos = match_end;
    } else {
      // An empty match: continue after the next whole character.
      pos = match_end + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
  onig_region_free(region, 1);
  return matches;
}

std::string regex_escape(std::string_view literal) {
  std::string out;
  for (const char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace ksearch
