#include "cli/options.hpp"

#include "cli/action_table.hpp"
#include "core/exit.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <string_view>

namespace cli {

namespace {

// bash `read -r var <<< text`: first line, surrounding blanks removed.
std::string read_value(const std::string& text) {
  std::string line = util::first_line(text);
  size_t b = line.find_first_not_of(" \t");
  if (b == std::string::npos) {
    return {};
  }
  size_t e = line.find_last_not_of(" \t");
  return line.substr(b, e - b + 1);
}

class ArgReader {
public:
  explicit ArgReader(const std::vector<std::string>& args) : m_args(args) {}
  bool done() const { return m_pos >= m_args.size(); }
  const std::string& current() const { return m_args[m_pos]; }
  void advance() { ++m_pos; }
  // Upstream's read_arg: "--opt=value" carries its value, otherwise the
  // next argument is consumed (empty if there is none).
  std::string value() {
    const std::string& token = m_args[m_pos];
    size_t eq = token.find('=');
    if (eq != std::string::npos) {
      return read_value(token.substr(eq + 1));
    }
    if (m_pos + 1 < m_args.size()) {
      ++m_pos;
      return read_value(m_args[m_pos]);
    }
    return {};
  }

private:
  const std::vector<std::string>& m_args;
  size_t m_pos = 0;
};

bool long_prefix(const std::string& token, const char* prefix) {
  return util::starts_with(token, prefix);
}

void parse_kernel_arch(const std::string& text, core::Options& opts) {
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    opts.kernels.push_back(text.substr(0, slash));
    opts.arches.push_back(text.substr(slash + 1));
  } else {
    opts.kernels.push_back(text);
  }
}

} // namespace

void parse_module_version(const std::string& text, core::Options& opts) {
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    opts.module = text.substr(0, slash);
    opts.version = text.substr(slash + 1);
  } else {
    opts.module = text;
  }
}

void print_usage(core::Context& ctx) {
  auto& out = ctx.out;
  out.line("Usage: " + ctx.argv0 + " [action] [options]");
  out.line(
      "  [action]  = { add | remove | build | unbuild | install | uninstall | match |");
  out.line(
      "               autoinstall | mktarball | ldtarball | status | generate_mok |");
  out.line("               kernel_preinst | kernel_postinst | kernel_prerm }");
  out.line("  [options] = [-m module] [-v module-version] [-k kernel-version] [-a arch]");
  out.line(
      "              [-c dkms.conf-location] [-q] [--force] [--force-version-override] "
      "[--all]");
  out.line(
      "              [--templatekernel=kernel] [--directive='cli-directive=cli-value']");
  out.line("              [--config=kernel-include/config/auto.conf-location] "
           "[--archive=tarball-location]");
  out.line("              [--kernelsourcedir=source-location] [--rpm_safe_upgrade]");
  out.line("              [--dkmstree path] [--sourcetree path] [--installtree path]");
  out.line("              [--binaries-only] [--source-only] [--verbose]");
  out.line("              [--no-depmod] [--modprobe-on-install] [-j number] [--version] "
           "[--help]");
}

ParseResult parse_command_line(core::Context& ctx, const std::vector<std::string>& args) {
  auto& o = ctx.opts;
  auto& s = ctx.settings;
  ArgReader r(args);
  for (; !r.done(); r.advance()) {
    const std::string& t = r.current();
    // The order of these tests is upstream's case statement order; it
    // matters because long options are prefix patterns.
    if (long_prefix(t, "--module") || t == "-m") {
      parse_module_version(r.value(), o);
    } else if (t == "-v") {
      o.version = r.value();
    } else if (long_prefix(t, "--kernelver") || t == "-k") {
      parse_kernel_arch(r.value(), o);
    } else if (long_prefix(t, "--templatekernel")) {
      o.template_kernel = r.value();
    } else if (t == "-c") {
      o.conf_file = r.value();
    } else if (t == "--quiet" || t == "-q") {
      ctx.out.set_quiet();
    } else if (t == "--version" || t == "-V") {
      ctx.out.line("dkms-3.2.2");
      return {ParseOutcome::exit_now, 0};
    } else if (t == "--no-initrd" || t == "--no-clean-kernel" ||
               t == "--no-prepare-kernel") {
      ctx.out.deprecated({t});
    } else if (t == "--binaries-only") {
      o.binaries_only = true;
    } else if (t == "--source-only") {
      o.source_only = true;
    } else if (t == "--force") {
      o.force = true;
    } else if (t == "--force-version-override") {
      o.force_version_override = true;
    } else if (t == "--all") {
      o.all = true;
    } else if (t == "--verbose") {
      s.verbose = "true";
    } else if (t == "--rpm_safe_upgrade") {
      o.rpm_safe_upgrade = true;
    } else if (long_prefix(t, "--dkmstree")) {
      s.dkms_tree = r.value();
    } else if (long_prefix(t, "--sourcetree")) {
      s.source_tree = r.value();
    } else if (long_prefix(t, "--installtree")) {
      s.install_tree = r.value();
    } else if (t == "--symlink-modules") {
      s.symlink_modules = "true";
    } else if (long_prefix(t, "--config")) {
      o.kernel_config = r.value();
    } else if (long_prefix(t, "--archive")) {
      o.archive = r.value();
    } else if (long_prefix(t, "--arch") || t == "-a") {
      o.arches.push_back(r.value());
    } else if (long_prefix(t, "--kernelsourcedir")) {
      o.kernel_source_dir = r.value();
    } else if (long_prefix(t, "--directive")) {
      o.directives.push_back(r.value());
    } else if (t == "--no-depmod") {
      s.no_depmod = true;
    } else if (t == "--modprobe-on-install") {
      s.modprobe_on_install = "true";
    } else if (t == "--debug") {
      // Upstream turns on bash tracing; there is nothing equivalent to show.
    } else if (t == "-j") {
      s.parallel_jobs = r.value();
    } else if (t == "--help" || t == "-h") {
      print_usage(ctx);
      return {ParseOutcome::exit_now, 0};
    } else if (!t.empty() && t[0] == '-') {
      ctx.out.error({"Unknown option: " + t});
      print_usage(ctx);
      return {ParseOutcome::exit_now, 2};
    } else if (is_action_name(t)) {
      if (!o.action.empty()) {
        ctx.out.error({"Cannot specify more than one action."});
        return {ParseOutcome::exit_now, 4};
      }
      o.action = t;
    } else if (util::is_regular(t) && util::ends_with(t, "dkms.conf")) {
      o.source_dir = t.substr(0, t.size() - 9) + "./";
    } else if (util::is_dir(t) && util::is_regular(t + "/dkms.conf")) {
      o.source_dir = t;
    } else if (util::is_regular(t)) {
      o.archive = t;
    } else if (o.module.empty()) {
      parse_module_version(t, o);
    } else {
      ctx.out.warning({"I do not know how to handle " + t + "."});
    }
  }
  return {};
}

} // namespace cli
