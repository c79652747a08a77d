#include "model_catalog.h"

namespace gpen_tools {

namespace {

// The GPEN authors' release (github.com/yangxy/GPEN, README "Usage"), and
// ModelScope for the 1024/2048 models (README "News", 2023-02-15), where
// pytorch_model.pt is the 1024 model and pytorch_model-2048.pt the 2048 one.
constexpr const char* kGpenRelease = "https://github.com/yangxy/GPEN#usage";
constexpr const char* kModelScopeHires =
    "https://www.modelscope.cn/models/damo/cv_gpen_image-portrait-enhancement-hires/summary";
#define GPEN_OSS "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/"
#define GPEN_MODELSCOPE_HIRES                                                          \
  "https://modelscope.cn/api/v1/models/damo/cv_gpen_image-portrait-enhancement-hires/" \
  "repo?Revision=master&FilePath="

}  // namespace

const char* const kModelLicence =
    "The GPEN authors released these weights for academic and non-commercial use only "
    "(\u00a9 Alibaba, 2021).";

const std::vector<CatalogEntry>& model_catalog() {
  static const std::vector<CatalogEntry> catalog = {
      {"GPEN-BFR-512.pth", ModelKind::Gpen, 512, nullptr, GPEN_OSS "GPEN-BFR-512.pth",
       kGpenRelease, "restores faces at 512x512: the usual choice (gpen-enhance's default)", true},
      {"GPEN-BFR-256.pth", ModelKind::Gpen, 256, nullptr, GPEN_OSS "GPEN-BFR-256.pth",
       kGpenRelease, "restores faces at 256x256: faster, enough for small faces", false},
      {"RetinaFace-R50.pth", ModelKind::RetinaFace, 0, "resnet50", GPEN_OSS "RetinaFace-R50.pth",
       kGpenRelease,
       "the face detector GPEN uses (ResNet50): finds more faces than the built-in cascade",
       true},
      {"ParseNet-latest.pth", ModelKind::ParseNet, 0, nullptr, GPEN_OSS "ParseNet-latest.pth",
       kGpenRelease,
       "the face-parsing network the reference pastes faces through (paste-mask=parse): no "
       "rectangle around pasted faces",
       false},
      {"GPEN-BFR-1024.pth", ModelKind::Gpen, 1024, nullptr,
       GPEN_MODELSCOPE_HIRES "pytorch_model.pt", kModelScopeHires,
       "restores faces at 1024x1024, for large faces (ModelScope's pytorch_model.pt)", false},
      {"GPEN-BFR-2048.pth", ModelKind::Gpen, 2048, nullptr,
       GPEN_MODELSCOPE_HIRES "pytorch_model-2048.pt", kModelScopeHires,
       "restores faces at 2048x2048, for selfies (ModelScope's pytorch_model-2048.pt)", false},
  };
  return catalog;
}

const CatalogEntry* find_catalog_entry(const std::string& name) {
  for (const auto& entry : model_catalog()) {
    const std::string file = entry.file;
    if (name == file || name + ".pth" == file) return &entry;
  }
  return nullptr;
}

}  // namespace gpen_tools
