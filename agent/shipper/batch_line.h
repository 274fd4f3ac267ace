// Writes a batch as one JSON line (EncodeBatch's text and '\n') in pieces of at most one
// sample each, so that the whole line, megabytes for hundreds of cgroups over
// --batch-ticks ticks, never sits in memory at once. For `jostle-agent --output`.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "jostle/sample.h"
#include "jostle/status.h"

namespace jostle::agent {

// Calls `write` with consecutive pieces whose concatenation is EncodeBatch(batch) + "\n",
// stopping at the first error it returns. The pieces are the batch's members up to the
// samples array, each sample's encoding, and the closing "]}\n"; `scratch` holds one piece
// at a time (its capacity is kept for the next call). When EncodeBatch's text does not
// have the shape this relies on (the samples array last), the whole line is one piece.
// `batch` is unchanged on return: its samples are moved out and back one at a time.
// Internal when a later sample's text does not share the first one's head (after pieces
// were written).
Status WriteBatchLine(SampleBatch& batch, std::string& scratch,
                      const std::function<Status(std::string_view)>& write);

}  // namespace jostle::agent
