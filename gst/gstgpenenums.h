/* gpenenhance's enum properties as the core library's types. */
#pragma once

#include "gstgpenenhance.h"
#include "runtime/precision.h"

gpen::Precision gpen_core_precision(GstGpenPrecision precision);
