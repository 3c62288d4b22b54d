#pragma once
// NumPy's legacy global RNG (np.random.seed / np.random.permutation), bit-exact.
// BigBird's random attention blocks are drawn from it, so reproducing it is part of the model.
#include <cstdint>
#include <vector>

namespace bb::attn {

class NumpyRandom {
 public:
  explicit NumpyRandom(uint32_t seed);  // MT19937 init_genrand, as np.random.seed(seed)

  uint32_t next_u32();
  uint64_t interval(uint64_t max);  // uniform in [0, max] by masked rejection (legacy random_interval)
  // np.random.permutation of a 1-D array: Fisher-Yates from the end.
  std::vector<int32_t> permutation(std::vector<int32_t> values);

 private:
  void twist();
  uint32_t mt_[624];
  int index_ = 624;
};

}  // namespace bb::attn
