#pragma once
// The engine's training API for Qt code. engine/train/trainer.h has a member named `emit`, which Qt
// defines as an (empty) macro, so the header is read with that macro switched off; include this
// instead of the engine's training headers in every ui/ file.
#pragma push_macro("emit")
#undef emit
#include "engine/jobs/training_job.h"
#include "engine/train/trainer.h"
#include "engine/train/trainer_data.h"
#pragma pop_macro("emit")
