// fill_scores.C -- histograms of every score of a hepfm friend, one per systematic variation (ROOT macro).
//
//   root -l -b -q 'macros/fill_scores.C("nano.root", "nano.scores.root", "hists.root")'
//   root -l -b -q 'macros/fill_scores.C("nano.root", "nano.scores.root", "hists.root", true, "genWeight", 20, 0, 1)'
//
// Parameters: input ntuple, its friend from `hepfm skim-and-score --friend [--corrections C --variations all]`,
// output file, overwrite (default false), weight (a float branch of the input, e.g. "genWeight"; "" = unweighted),
// nbins, lo, hi (default 50 bins in [0, 1]), tree (default "Events").
//
// Writes one TH1D `h_<branch>` per float score branch of the friend (the nominal `score_<model>` and each
// `score_<model>_<variation>`; `weight_*` branches are not scores), filled from every entry whose score is a
// number, and a TH1D `unscored` with, per score branch, the number of entries whose score is NaN (an event
// without the objects the model needs).  The input and friend are checked to be aligned first (hepfm_friend.h);
// a misaligned friend, an existing output (without overwrite) or any other failure returns a non-zero exit code
// and leaves no output.  The output appears under its name only when complete.

#include "hepfm_friend.h"

#include <TH1D.h>
#include <TTreeReader.h>
#include <TTreeReaderValue.h>

#include <cmath>

int fill_scores(const char *input, const char *friendFile, const char *output, bool overwrite = false,
                const char *weight = "", int nbins = 50, double lo = 0., double hi = 1., const char *tree = "Events")
{
   using namespace hepfm_macros;
   try {
      if (nbins < 1 || !(hi > lo))
         Fail(kUsage, "need nbins >= 1 and hi > lo, got nbins=" + std::to_string(nbins) + " lo=" +
                         std::to_string(lo) + " hi=" + std::to_string(hi));
      PlanOutput(output, overwrite, {input, friendFile});
      auto a = OpenAligned(input, friendFile, tree);
      const std::string w = weight;
      if (!w.empty()) {
         auto *leaf = a.input->GetLeaf(w.c_str());
         if (!leaf || std::string(leaf->GetTypeName()) != "Float_t")
            Fail(kUsage, "weight '" + w + "' is not a float branch of " + std::string(input) + "'s " + tree);
      }
      a.input->AddFriend(a.scores, "s");  // the C++ analyst's view: friend columns as s.<branch>

      TemporaryGuard guard{TemporaryFor(output)};
      std::unique_ptr<TFile> out(TFile::Open(guard.path.c_str(), "CREATE"));
      if (!out || out->IsZombie())
         Fail(kOutput, "cannot create " + guard.path + " (temporary of " + output + ")");

      const auto &names = a.scoreBranches;
      std::vector<TH1D *> hists;  // owned by `out`
      for (const auto &n : names) {
         auto *h = new TH1D(("h_" + n).c_str(), (n + ";score;events").c_str(), nbins, lo, hi);
         h->Sumw2();
         h->SetDirectory(out.get());
         hists.push_back(h);
      }
      auto *unscored = new TH1D("unscored", "entries with a NaN score;branch;entries", names.size(), 0, names.size());
      unscored->SetDirectory(out.get());
      for (size_t i = 0; i < names.size(); ++i)
         unscored->GetXaxis()->SetBinLabel(i + 1, names[i].c_str());

      TTreeReader reader(a.input);
      std::vector<std::unique_ptr<TTreeReaderValue<float>>> values;
      for (const auto &n : names)
         values.emplace_back(new TTreeReaderValue<float>(reader, ("s." + n).c_str()));
      std::unique_ptr<TTreeReaderValue<float>> wv;
      if (!w.empty())
         wv.reset(new TTreeReaderValue<float>(reader, w.c_str()));
      Long64_t entries = 0;
      while (reader.Next()) {
         const double wt = wv ? double(**wv) : 1.;
         for (size_t i = 0; i < names.size(); ++i) {
            const float s = **values[i];
            if (std::isnan(s))
               unscored->Fill(i + 0.5);
            else
               hists[i]->Fill(s, wt);
         }
         ++entries;
      }
      if (reader.GetEntryStatus() != TTreeReader::kEntryBeyondEnd || entries != a.input->GetEntries())
         Fail(kBadInput, "reading " + std::string(input) + " with its friend stopped at entry " + std::to_string(entries));
      out->Write();
      out->Close();
      Commit(guard.path, output, overwrite);
      guard.path.clear();
      std::cout << "fill_scores: " << entries << " entries, " << names.size() << " score histograms -> " << output
                << std::endl;
      return kOk;
   } catch (const Failure &f) {
      return Report(f, "fill_scores.C");
   }
}
