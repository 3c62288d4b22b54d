#pragma once
// Small text helpers for the views and exports: how a token reads in a list, JSON string quoting.
#include <cstdint>
#include <string>

namespace bb::ui {

struct LabDocument;

// Token i as a short label: its source text with newlines as ¶ (specials as their piece, e.g. [CLS]),
// cut to `maxChars` code points.
std::string displayToken(const LabDocument& doc, int64_t i, int maxChars = 24);
// A JSON string literal (quotes, backslashes and control characters escaped).
std::string jsonString(const std::string& s);
// A number with up to `digits` significant digits ("0.0123").
std::string formatNumber(double v, int digits = 4);
// "1.2 GFLOP", "350 MFLOP"; "64 MiB", "1.5 GiB".
std::string formatFlops(double flops);
std::string formatBytes(double bytes);
// "850 ms", "10.3 s".
std::string formatDuration(double seconds);
// A probability: "0.412", "3.1e-05".
std::string formatProbability(double p);

}  // namespace bb::ui
