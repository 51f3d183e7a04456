#include "core/depmod.hpp"

#include "core/subprocess.hpp"
#include "util/fs.hpp"

#include <sys/utsname.h>

namespace core {

namespace {

// The body of upstream's do_depmod; what it prints is the runner's output.
void depmod_body(Context& ctx, const std::string& kernel, std::string& output) {
  if (ctx.settings.no_depmod) {
    return;
  }
  struct utsname u;
  if (uname(&u) != 0 || std::string(u.sysname) != "Linux") {
    return;
  }
  std::string kdir = ctx.settings.install_tree + "/" + kernel;
  if (!util::is_regular(kdir + "/modules.dep")) {
    output += "Skipping depmod because '" + kdir + "/modules.dep' is missing.\n";
    return;
  }
  std::vector<std::string> argv = {"depmod", "-a", kernel};
  std::string map = ctx.sys.boot + "/System.map-" + kernel;
  if (util::is_regular(map)) {
    argv.push_back("-F");
    argv.push_back(map);
  }
  output += run_capture(argv).output;
  auto dep = util::read_file(kdir + "/modules.dep");
  if (dep && dep->empty()) {
    // The last module of a kernel that is no longer installed went away:
    // leave no stale depmod files behind.
    for (const char* name : {"modules.alias", "modules.dep", "modules.devname",
                             "modules.softdep", "modules.symbols", "modules.weakdep"}) {
      std::string path = kdir + "/" + name;
      if (util::lexists(path) && util::remove_file(path)) {
        output += "removed '" + path + "'\n"; // rm -v
      }
    }
    for (const auto& name : util::list_dir(kdir)) {
      if (name.size() > 12 && name.rfind("modules.", 0) == 0 &&
          name.compare(name.size() - 4, 4, ".bin") == 0) {
        util::remove_file(kdir + "/" + name);
        output += "removed '" + kdir + "/" + name + "'\n";
      }
    }
    if (util::remove_empty_dir(kdir)) {
      output += "removed directory " + kdir + "\n";
    }
  }
}

} // namespace

int run_depmod(Context& ctx, const std::string& kernel) {
  bool verbose = ctx.verbose();
  if (verbose) {
    ctx.out.line("do_depmod " + kernel);
  } else {
    ctx.out.out("Running depmod...");
  }
  std::string output;
  depmod_body(ctx, kernel, output);
  // Background mode without a log: output only shows when verbose.
  if (verbose) {
    ctx.out.out(output);
  }
  ctx.out.line(" done.");
  return 0;
}

} // namespace core
