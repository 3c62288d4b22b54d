#pragma once
// The controls that pick what the document views show: layer, one head or the mean / max over
// heads, direction (what the token attends to / what attends to it), attention rollout and top-k.
// Shared by the heatmap and the token view, which both edit the session's one selection.
#include <string>

namespace bb::ui {

class LabSession;

// `compact` lays the controls out on one or two lines (the token view's toolbar).
void drawSelectionControls(LabSession& session, bool compact);

// "layer 3 · head mean · attends to" for captions and exports.
std::string describeSelection(const LabSession& session);

}  // namespace bb::ui
