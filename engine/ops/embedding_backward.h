#pragma once
// Backward of an embedding lookup y[r] = table[ids[r]]: scatter-add dy rows into dtable.
// Rows whose id equals padding_idx get no gradient (torch nn.Embedding(padding_idx=...); BigBird's
// word embeddings use pad_token_id). padding_idx < 0: none. ids == nullptr means ids[r] = r % period
// (position embeddings: row r of a [batch, period] layout uses position r % period).
// Parallel over column panels, rows summed in order: deterministic for any thread count.
#include <cstdint>

namespace bb::ops {

void embedding_backward(const float* dy, const int64_t* ids, int64_t rows, int64_t H, float* dtable,
                        int64_t padding_idx = -1, int64_t period = 0);

}  // namespace bb::ops
