#pragma once

#include "actions/common.hpp"

// Entry points of the action families; each returns the exit status.
// The CLI's dispatch table maps action names onto these.
namespace actions {

int action_add(core::Context& ctx);         // add.cpp
int action_build(core::Context& ctx);       // build.cpp
int action_install(core::Context& ctx);     // install.cpp
int action_uninstall(core::Context& ctx);   // uninstall.cpp
int action_unbuild(core::Context& ctx);     // remove.cpp
int action_remove(core::Context& ctx);      // remove.cpp
int action_status(core::Context& ctx);      // status.cpp
int action_autoinstall(core::Context& ctx); // autoinstall.cpp
int action_kernel_preinst(core::Context& ctx);
int action_kernel_postinst(core::Context& ctx);
int action_kernel_prerm(core::Context& ctx);
int action_match(core::Context& ctx);        // match.cpp
int action_mktarball(core::Context& ctx);    // tarball.cpp
int action_ldtarball(core::Context& ctx);    // tarball.cpp
int action_generate_mok(core::Context& ctx); // generate_mok.cpp

// Building blocks used across families (throw core::Exit on fatal errors).
void add_module(core::Context& ctx, Unit& unit); // add.cpp
void add_source_tree(core::Context& ctx, Unit& unit, const std::string& path);
void do_build(core::Context& ctx, Unit& unit); // build.cpp
void maybe_build_module(core::Context& ctx, Unit& unit);
void prepare_kernel_and_signing(core::Context& ctx, Unit& unit);
void do_install(core::Context& ctx, Unit& unit); // install.cpp
void maybe_install_module(core::Context& ctx, Unit& unit);
void do_uninstall(core::Context& ctx, Unit& unit); // uninstall.cpp
void maybe_uninstall_module(core::Context& ctx, Unit& unit);
void do_unbuild(core::Context& ctx, Unit& unit); // remove.cpp
void maybe_unbuild_module(core::Context& ctx, Unit& unit);
// Dependency rebuild pass (SPEC §2.14), at the end of a successful install.
void rebuild_dependent_modules(core::Context& ctx, Unit& unit); // deps.cpp
// Loads a DKMS tarball (SPEC §2.12) and sets unit.module/version.
void load_tarball(core::Context& ctx, Unit& unit); // tarball.cpp

} // namespace actions
