#pragma once
// Private to the cleanup room: secrets never leave the process. Before text goes into a
// prompt every secret the scanner finds is replaced by a placeholder __FTI_SECRET_n__; the
// originals stay here and are put back into an accepted answer.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/result.hpp"

namespace fti::cleanup::detail {

class Redaction {
 public:
  // Fails when the text already holds the placeholder marker: restoring could then not tell
  // the file's own text from a placeholder.
  static Result<Redaction> of(std::string_view text);

  const std::string& text() const { return text_; }  // safe to put into a prompt
  std::size_t secret_count() const { return secrets_.size(); }

  // The answer with the secrets put back. Rejected unless every placeholder appears exactly as
  // often as in text(): a model that drops one would drop the secret's line with it.
  Result<std::string> restore(std::string_view answer) const;

  // The answer with every placeholder shown as "[redacted]": for text that should not carry
  // the secret at all (a generated README).
  static std::string scrub(std::string_view answer);

  static constexpr std::string_view kMarker = "__FTI_SECRET_";

 private:
  std::string text_;
  std::vector<std::string> secrets_;      // placeholder n stands for secrets_[n]
  std::vector<std::size_t> occurrences_;  // how often placeholder n is in text_
};

// Secrets in a short string (a path) shown as "[redacted]"; nothing to restore.
std::string mask_secrets(std::string_view text);

}  // namespace fti::cleanup::detail
