// Precompiled header of reasonrec_core and of the engine tests: LibTorch is by far the most
// expensive header to parse, so it is compiled once per target family.
#pragma once
#ifdef __cplusplus
#include <torch/torch.h>
#include <QtCore>
#include <algorithm>
#include <memory>
#include <string>
#include <vector>
#endif
