// score_cut.C -- a score cut inside an RDataFrame in C++, on an input with its hepfm friend (ROOT macro).
//
//   root -l -b -q 'macros/score_cut.C("nano.root", "nano.scores.root", 0.5)'                  # cut flow only
//   root -l -b -q 'macros/score_cut.C("nano.root", "nano.scores.root", 0.5, "", "sel.root")'  # + Snapshot
//
// Parameters: input ntuple, its friend from `hepfm skim-and-score --friend`, cut (keep score > cut), branch (the
// friend's score branch; "" = its first, the nominal score of the first model), output ("" = no Snapshot),
// overwrite (default false), tree (default "Events").
//
// Builds ROOT::RDataFrame on a TChain of the input with the friend attached (AddFriend, alias "s"), filters
// "scored" (the score is a number) then "score > cut", prints the cut flow (RDataFrame's Report, and one line
// `cutflow: entries=N scored=M passed=K`), and with an output snapshots run, luminosityBlock, event and the score
// (under its branch name: RDataFrame also names a friend's columns without the alias) of the passing events, in
// input order (no ImplicitMT).  The cut is a compiled lambda on a named column: nothing from the files or
// arguments is compiled as code.  Exit codes and the output rules
// are those of hepfm_friend.h (misaligned friend: 3, existing output: 5, unknown branch: 2).

#include "hepfm_friend.h"

#include <ROOT/RDataFrame.hxx>
#include <TChain.h>

#include <cmath>

int score_cut(const char *input, const char *friendFile, double cut = 0.5, const char *branch = "",
              const char *output = "", bool overwrite = false, const char *tree = "Events")
{
   using namespace hepfm_macros;
   try {
      const std::string out = output;
      if (!out.empty())
         PlanOutput(out, overwrite, {input, friendFile});
      std::string name = branch;
      {
         auto a = OpenAligned(input, friendFile, tree);  // checks only; RDataFrame reads through the chains below
         if (name.empty())
            name = a.scoreBranches.front();
         bool known = false;
         std::string all;
         for (const auto &n : a.scoreBranches) {
            known = known || n == name;
            all += (all.empty() ? "" : ", ") + n;
         }
         if (!known)
            Fail(kUsage, "branch '" + name + "' is not a score branch of " + std::string(friendFile) + " (has: " + all + ")");
      }
      TChain events(tree), scores(tree);
      events.Add(input);
      scores.Add(friendFile);
      events.AddFriend(&scores, "s");
      ROOT::RDataFrame df(events);
      auto scored = df.Filter([](float s) { return !std::isnan(s); }, {"s." + name}, "scored");
      auto passed = scored.Filter([cut](float s) { return s > cut; }, {"s." + name}, "score > " + std::to_string(cut));
      auto nAll = df.Count();
      auto nScored = scored.Count();
      auto nPassed = passed.Count();

      TemporaryGuard guard;
      // kept until the loop has run: a lazy action whose result is dropped is taken off the loop
      ROOT::RDF::RResultPtr<ROOT::RDF::RInterface<ROOT::Detail::RDF::RLoopManager>> snapshot;
      if (!out.empty()) {
         guard.path = TemporaryFor(out);
         ROOT::RDF::RSnapshotOptions opts;
         opts.fMode = "CREATE";  // the temporary is new; never write into an existing file
         opts.fLazy = true;      // one event loop for the snapshot and the counts
         snapshot = passed.Snapshot(tree, guard.path, {"run", "luminosityBlock", "event", name}, opts);
      }
      std::cout << "cut flow of s." << name << " > " << cut << " on " << input << ":" << std::endl;
      df.Report()->Print();  // runs the event loop (and the lazy Snapshot)
      std::cout << "cutflow: entries=" << *nAll << " scored=" << *nScored << " passed=" << *nPassed << std::endl;
      if (!out.empty()) {
         Commit(guard.path, out, overwrite);
         guard.path.clear();
         std::cout << "score_cut: " << *nPassed << " events -> " << out << std::endl;
      }
      return kOk;
   } catch (const Failure &f) {
      return Report(f, "score_cut.C");
   } catch (const std::exception &e) {  // RDataFrame reports missing columns, unreadable files this way
      std::cerr << "error: score_cut.C: " << e.what() << std::endl;
      return kBadInput;
   }
}
