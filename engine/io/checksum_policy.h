#pragma once
// Checksums stop a fuzzer at the first mutated byte of a block, so in fuzz builds only
// (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the libFuzzer / OSS-Fuzz convention, set by
// -DBIGBIRD_FUZZ=ON) they are computed but a mismatch is not rejected, letting the fuzzer reach
// the parsers behind them. Normal builds always reject; unit tests cover the checks themselves.
namespace bb::io {

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
inline constexpr bool kRejectBadChecksums = false;
#else
inline constexpr bool kRejectBadChecksums = true;
#endif

}  // namespace bb::io
