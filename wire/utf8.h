// UTF-8 well-formedness (RFC 3629, Unicode table 3-7), shared by the batch encoder and decoder.
#pragma once

#include <cstddef>

namespace jostle::wire_internal {

// Length (2..4) of the well-formed UTF-8 sequence whose lead byte is p[0], or 0 when the
// bytes in [p, end) do not start one (a stray continuation byte, an overlong form, a
// surrogate, a code point above U+10FFFF or a truncated sequence). p[0] must be >= 0x80.
// When 0 is returned, *valid_prefix is the length (>= 1) of the maximal ill-formed subpart,
// which is what a replacement character stands for.
inline size_t Utf8SequenceLength(const unsigned char* p, const unsigned char* end,
                                 size_t* valid_prefix) {
  unsigned char lead = p[0];
  size_t len;
  unsigned char lo = 0x80;  // allowed range of the second byte
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    if (lead == 0xF0) lo = 0x90;  // no overlong forms
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    *valid_prefix = 1;
    return 0;
  }
  size_t avail = static_cast<size_t>(end - p);
  for (size_t i = 1; i < len; ++i) {
    unsigned char c = i < avail ? p[i] : 0;
    bool ok = i < avail && (i == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF));
    if (!ok) {
      *valid_prefix = i;
      return 0;
    }
  }
  return len;
}

}  // namespace jostle::wire_internal
