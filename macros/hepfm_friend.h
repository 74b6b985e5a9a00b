// hepfm_friend.h -- shared by fill_scores.C and score_cut.C (ROOT macros; see macros/README.md).
//
// Opens an input ntuple and the score friend `hepfm skim-and-score --friend` wrote for it, and refuses a
// friend that is not aligned with that input.  A friend holds one float branch per score (the nominal score
// of each model first, then `<score>_<variation>` per systematic variation, then `weight_<name>`), one entry
// per input entry in entry order, and a TObjString `hepfm_skim` (JSON) that records the input it was made from
// (`"inputs": ["<path as given to the CLI>"]`) and the branches it added (`"branches": [...]`, the only ones
// taken as scores or weights).  It records no event identity, so alignment is checked by
// (1) the same number of entries and (2) the recorded input being this input: the same file when the recorded
// path is absolute or resolves from the current directory, else (a relative path recorded in another
// directory) the same file name.
//
// Also the output rules every macro here follows: an existing output is refused unless `overwrite`; an
// output that is one of the inputs is always refused; the output is written under a temporary name in the
// same folder and put in place only when complete (no-clobber hard link, or rename with `overwrite`).
//
// Exit codes (the value the macro function returns, which `root -b -q` exits with) follow hepfm's error
// family: 0 success, 2 bad arguments, 3 bad input (unreadable file, missing tree, misaligned friend),
// 5 output problem.

#ifndef HEPFM_FRIEND_H
#define HEPFM_FRIEND_H

#include <TFile.h>
#include <TLeaf.h>
#include <TObjArray.h>
#include <TObjString.h>
#include <TSystem.h>
#include <TTree.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace hepfm_macros {

enum ExitCode { kOk = 0, kUsage = 2, kBadInput = 3, kOutput = 5 };

// Raised inside a macro, caught in its entry function, which prints it and returns its code.
struct Failure {
   int code;
   std::string message;
};

inline void Fail(int code, const std::string &message) { throw Failure{code, message}; }

namespace fs = std::filesystem;

inline bool SameFile(const std::string &a, const std::string &b)
{
   std::error_code ec;
   bool same = fs::equivalent(fs::path(a), fs::path(b), ec);
   return !ec && same;
}

// The strings of the JSON array `"key": [ ... ]` in `json` (hepfm writes it with json.dumps: `"key": ["a", "b"]`).
// Only \" and \\ escapes are undone; anything else stays as written (used only to compare paths, never run).
inline std::vector<std::string> JsonStrings(const std::string &json, const std::string &key, bool &found)
{
   std::vector<std::string> out;
   const std::string head = "\"" + key + "\": [";
   auto pos = json.find(head);
   found = pos != std::string::npos;
   if (!found)
      return out;
   pos += head.size();
   while (pos < json.size() && json[pos] != ']') {
      if (json[pos] != '"') {
         ++pos;
         continue;
      }
      std::string s;
      for (++pos; pos < json.size() && json[pos] != '"'; ++pos) {
         if (json[pos] == '\\' && pos + 1 < json.size())
            ++pos;
         s += json[pos];
      }
      ++pos;
      out.push_back(s);
   }
   return out;
}

struct AlignedFriend {
   std::unique_ptr<TFile> inputFile, friendFile;
   TTree *input = nullptr;   // owned by inputFile
   TTree *scores = nullptr;  // owned by friendFile
   std::vector<std::string> scoreBranches;  // nominal score(s) first, then <score>_<variation>; no weight_*
   std::vector<std::string> weightBranches; // weight_<name>
};

inline TTree *OpenTree(const std::string &path, const std::string &tree, std::unique_ptr<TFile> &file, const char *what)
{
   if (gSystem->AccessPathName(path.c_str()))  // true when it does NOT exist
      Fail(kBadInput, std::string(what) + " " + path + " does not exist");
   file.reset(TFile::Open(path.c_str(), "READ"));
   if (!file || file->IsZombie())
      Fail(kBadInput, std::string(what) + " " + path + " is not a readable ROOT file");
   auto *t = file->Get<TTree>(tree.c_str());
   if (!t)
      Fail(kBadInput, std::string(what) + " " + path + " has no tree '" + tree + "'");
   return t;
}

// Open `input` and `friendPath` (tree `tree` in both) and check that the friend was made from this input.
inline AlignedFriend OpenAligned(const std::string &input, const std::string &friendPath, const std::string &tree)
{
   AlignedFriend a;
   a.input = OpenTree(input, tree, a.inputFile, "input");
   a.scores = OpenTree(friendPath, tree, a.friendFile, "friend");
   const std::string where = "friend " + friendPath;
   auto *meta = a.friendFile->Get<TObjString>("hepfm_skim");
   if (!meta)
      Fail(kBadInput, where + " has no 'hepfm_skim' record: not written by hepfm skim-and-score --friend");
   bool found = false;
   auto recorded = JsonStrings(meta->GetString().Data(), "inputs", found);
   if (!found || recorded.size() != 1)
      Fail(kBadInput, where + ": expected exactly one recorded input in 'hepfm_skim', got " +
                         std::to_string(recorded.size()) + " (a friend is made from one input)");
   const std::string &src = recorded[0];
   bool same = SameFile(src, input);
   if (!same && !fs::path(src).is_absolute() && !fs::exists(src))  // relative to a directory we do not know
      same = fs::path(src).filename() == fs::path(input).filename();
   if (!same)
      Fail(kBadInput, where + " was made from " + src + ", not from " + input + " (not aligned)");
   const Long64_t nIn = a.input->GetEntries(), nFr = a.scores->GetEntries();
   if (nIn != nFr)
      Fail(kBadInput, where + " has " + std::to_string(nFr) + " entries, input " + input + " has " +
                         std::to_string(nIn) + " (not aligned)");
   // The branches hepfm added, as recorded (a skim output without --friend holds the input's branches too).
   auto added = JsonStrings(meta->GetString().Data(), "branches", found);
   if (!found)
      Fail(kBadInput, where + ": its 'hepfm_skim' record lists no branches");
   for (const auto &name : added) {
      auto *leaf = a.scores->GetLeaf(name.c_str());
      if (!leaf || std::string(leaf->GetTypeName()) != "Float_t" || leaf->GetLeafCount() || leaf->GetLen() != 1)
         Fail(kBadInput, where + ": recorded branch '" + name + "' is not a float branch of its tree " + tree);
      (name.rfind("weight_", 0) == 0 ? a.weightBranches : a.scoreBranches).push_back(name);
   }
   if (a.scoreBranches.empty())
      Fail(kBadInput, where + " has no score branch");
   return a;
}

// Check `output` before any work: not an input, not existing unless `overwrite`, its folder exists.
inline void PlanOutput(const std::string &output, bool overwrite, const std::vector<std::string> &inputs)
{
   if (output.empty())
      Fail(kUsage, "no output file given");
   for (const auto &in : inputs)
      if (SameFile(output, in))
         Fail(kOutput, "output " + output + " is one of the inputs; refusing to write over it");
   std::error_code ec;
   if (fs::exists(output, ec)) {
      if (!overwrite)
         Fail(kOutput, "output " + output + " exists (pass overwrite=true to replace it)");
      if (!fs::is_regular_file(output, ec))
         Fail(kOutput, "output " + output + " exists and is not a regular file");
   }
   auto dir = fs::path(output).parent_path();
   if (!dir.empty() && !fs::is_directory(dir, ec))
      Fail(kOutput, "output folder " + dir.string() + " does not exist");
}

// A fresh temporary name beside `output` (same folder, so the final rename stays on one file system).
inline std::string TemporaryFor(const std::string &output)
{
   fs::path p(output);
   return (p.parent_path() / ("." + p.filename().string() + ".tmp" + std::to_string(gSystem->GetPid()))).string();
}

// Put the complete temporary `tmp` at `output`; without `overwrite` never replaces a file that appeared meanwhile.
inline void Commit(const std::string &tmp, const std::string &output, bool overwrite)
{
   std::error_code ec;
   if (overwrite) {
      fs::rename(tmp, output, ec);
   } else {
      fs::create_hard_link(tmp, output, ec);  // fails if output exists: no-clobber, atomic
      if (!ec)
         fs::remove(tmp);
      else if (ec == std::errc::file_exists) {
         fs::remove(tmp);
         Fail(kOutput, "output " + output + " appeared while it was being written; left as it is");
      } else {  // a file system without hard links: rename, having checked once more
         ec.clear();
         if (fs::exists(output)) {
            fs::remove(tmp);
            Fail(kOutput, "output " + output + " appeared while it was being written; left as it is");
         }
         fs::rename(tmp, output, ec);
      }
   }
   if (ec) {
      fs::remove(tmp);
      Fail(kOutput, "cannot move " + tmp + " to " + output + ": " + ec.message());
   }
}

// Removes the temporary on every way out unless it was committed.
struct TemporaryGuard {
   std::string path;
   ~TemporaryGuard()
   {
      std::error_code ec;
      if (!path.empty())
         fs::remove(path, ec);
   }
};

inline int Report(const Failure &f, const char *macro)
{
   std::cerr << "error: " << macro << ": " << f.message << std::endl;
   return f.code;
}

} // namespace hepfm_macros

#endif
