#pragma once
// The little XML that S3 speaks: ListObjectsV2 pages, error bodies, multipart upload ids and
// the CompleteMultipartUpload request. S3's documents are flat and machine-written, so a
// careful element scanner with entity decoding reads them; no XML library is needed.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"
#include "fti/storage/blob_store.hpp"

namespace fti::storage::s3xml {

// &amp; &lt; &gt; &quot; &apos; &#N; &#xH; decoded, CDATA sections unwrapped; an unknown or
// malformed entity is kept as written.
std::string decode_text(std::string_view raw);
// The five predefined entities, for text put into a request body.
std::string escape(std::string_view text);

// The inner XML of each <tag>...</tag> (or empty for <tag/>), in document order. A tag of the
// same name nested inside itself is not supported (S3 never does that).
std::vector<std::string_view> elements(std::string_view xml, std::string_view tag);
// The decoded text of the first <tag>, if there is one.
std::optional<std::string> text(std::string_view xml, std::string_view tag);

struct ListPage {
  std::vector<BlobInfo> objects;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken when truncated
};
Result<ListPage> parse_list_objects_v2(std::string_view xml);

struct ErrorBody {
  std::string code;     // "NoSuchKey", "SlowDown"...
  std::string message;
};
// An <Error> document; nullopt for anything else (HEAD responses have no body at all).
std::optional<ErrorBody> parse_error(std::string_view xml);

Result<std::string> parse_upload_id(std::string_view xml);
std::string complete_multipart_body(const std::vector<std::string>& etags);

// "2009-10-12T17:50:30.000Z" -> milliseconds since the epoch.
std::optional<TimeMs> parse_iso8601(std::string_view s);

}  // namespace fti::storage::s3xml
