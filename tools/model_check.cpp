#include "model_check.h"

#include <exception>

#include "checkpoint/checkpoint.h"
#include "faces/retinaface.h"
#include "generator/gpen_config.h"
#include "parsing/parse_net.h"

namespace gpen_tools {

namespace {

std::int64_t count_parameters(const gpen::TensorMap& state) {
  std::int64_t total = 0;
  for (const auto& [name, tensor] : state) total += tensor.numel();
  return total;
}

std::string backbone_id(gpen::RetinaFaceBackbone backbone) {
  return backbone == gpen::RetinaFaceBackbone::ResNet50 ? "resnet50" : "mobilenet0.25";
}

}  // namespace

const char* kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::Gpen: return "GPEN generator";
    case ModelKind::RetinaFace: return "RetinaFace detector";
    case ModelKind::ParseNet: return "ParseNet face parser";
  }
  return "model";
}

ModelReport inspect_model(const std::string& path) {
  ModelReport report;
  gpen::TensorMap state;
  try {
    state = gpen::load_checkpoint(path);
  } catch (const std::exception& e) {
    report.problem = e.what();  // names the file already
    return report;
  }
  report.tensors = state.size();
  report.parameters = count_parameters(state);

  // The key names say which network it is; the strict check then compares
  // every key and shape with what that network has.
  std::string gpen_reason;
  try {
    const gpen::GpenConfig config = gpen::infer_gpen_config(state);
    report.kind = ModelKind::Gpen;
    report.gpen_size = config.size;
    report.architecture = config.describe();
    gpen::check_gpen_state_dict(state, config);
    report.valid = true;
    return report;
  } catch (const std::exception& e) {
    if (report.kind) {
      report.problem = e.what();
      return report;
    }
    gpen_reason = e.what();
  }
  // ParseNet's first key says it is one.
  if (state.count("encoder.0.conv2d.weight")) {
    report.kind = ModelKind::ParseNet;
    try {
      const gpen::ParseNetConfig config = gpen::infer_parsenet_config(state);
      report.architecture = config.describe();
      gpen::check_parsenet_state_dict(state, config);
      report.valid = true;
    } catch (const std::exception& e) {
      report.problem = e.what();
    }
    return report;
  }
  try {
    const gpen::RetinaFaceBackbone backbone = gpen::infer_retinaface_backbone(state);
    report.kind = ModelKind::RetinaFace;
    report.backbone = backbone_id(backbone);
    report.architecture = std::string("RetinaFace ") + gpen::to_string(backbone);
    gpen::check_retinaface_state_dict(state, backbone);
    report.valid = true;
  } catch (const std::exception& e) {
    if (report.kind)
      report.problem = e.what();
    else
      report.problem = "neither a GPEN generator (" + gpen_reason +
                       ") nor a RetinaFace detector (" + e.what() + ")";
  }
  return report;
}

ModelExpectation expectation_for(const CatalogEntry& entry) {
  ModelExpectation expected;
  expected.kind = entry.kind;
  expected.gpen_size = entry.gpen_size;
  if (entry.backbone) expected.backbone = entry.backbone;
  return expected;
}

std::string unmet_expectation(const ModelReport& report, const ModelExpectation& expected) {
  if (!report.valid) return report.problem;
  if (expected.kind && report.kind != expected.kind)
    return std::string("it is a ") + kind_name(*report.kind) + ", not a " +
           kind_name(*expected.kind);
  if (expected.gpen_size && report.gpen_size != expected.gpen_size)
    return "it restores faces at " + std::to_string(report.gpen_size) + " px, not " +
           std::to_string(expected.gpen_size);
  if (!expected.backbone.empty() && report.backbone != expected.backbone)
    return "its backbone is " + report.backbone + ", not " + expected.backbone;
  return {};
}

}  // namespace gpen_tools
