// The released model files users put in models/: what each is for, where it
// comes from, and what our reader must find in it. One table, so that the
// fetch script (through gpen-model-info --list), gpen-enhance's "model not
// found" message and the checks agree.
#pragma once

#include <string>
#include <vector>

namespace gpen_tools {

enum class ModelKind { Gpen, RetinaFace, ParseNet };

struct CatalogEntry {
  const char* file;     // the name in models/, e.g. "GPEN-BFR-512.pth"
  ModelKind kind;
  int gpen_size;        // GPEN: the face size the file must have; 0 otherwise
  const char* backbone; // RetinaFace: "resnet50"; nullptr otherwise
  const char* url;      // where the fetch script downloads it from
  const char* source;   // the page that documents the release
  const char* purpose;  // one line for users
  bool fetch_by_default;
};

const std::vector<CatalogEntry>& model_catalog();

// The entry for a file name ("GPEN-BFR-512.pth", or without ".pth"), or null.
const CatalogEntry* find_catalog_entry(const std::string& name);

// The licence line every model message repeats.
extern const char* const kModelLicence;

}  // namespace gpen_tools
