// Checks a model file with the core library's own reader: is it a GPEN
// generator or a RetinaFace detector, and does every tensor have the shape
// that network expects? What gpen-model-info and models/fetch-models.sh use
// to accept or reject a file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model_catalog.h"

namespace gpen_tools {

struct ModelReport {
  bool valid = false;
  std::optional<ModelKind> kind;  // set when the keys say what it is, even if invalid
  std::string architecture;       // "GPEN size 512, ..." or "RetinaFace ResNet50"
  int gpen_size = 0;              // GPEN only
  std::string backbone;           // RetinaFace only: "resnet50" or "mobilenet0.25"
  std::size_t tensors = 0;
  std::int64_t parameters = 0;
  std::string problem;            // why it is not valid
};

// Reads `path` and checks it strictly. Never throws for a bad file: the
// problem is in the report.
ModelReport inspect_model(const std::string& path);

// What a file must be, e.g. from its catalog entry.
struct ModelExpectation {
  std::optional<ModelKind> kind;
  int gpen_size = 0;     // 0: any
  std::string backbone;  // empty: any
};

ModelExpectation expectation_for(const CatalogEntry& entry);

// Empty when the report meets the expectation, else the reason it does not.
std::string unmet_expectation(const ModelReport& report, const ModelExpectation& expected);

const char* kind_name(ModelKind kind);

}  // namespace gpen_tools
