#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// In-process answer to upstream's `.kernelvariables` compiler probe, so that
// `dkms build` need not start make for the plain files Debian ships.
namespace core {

// What GNU make 4.3 prints for `make -f - show-<name>` given the makefile
// "show-%:\n\t@echo $($*)\ninclude <file>\n", where <file> holds `text` and
// make runs in the current directory with environment `env` ("NAME=value"
// strings, as in environ): the echoed line without its newline.
//
// nullopt means "not evaluated exactly here, run make": the file uses anything
// beyond plain assignments (= := ::= ?= +=, optionally `override`),
// $(if ...) / variable references and the conditionals ifeq/ifneq (`(a,b)`,
// `"a" "b"`, `'a' 'b'`), ifdef/ifndef, else [if...] and endif (a file make
// would reject or warn about, e.g. a missing endif or text after one, is
// nullopt; skipped branches are not read, except for their conditionals and
// `define`, which is nullopt), the value needs make's built-in
// variables, env holds variables that change how make runs (MAKEFLAGS,
// MAKELEVEL, ...), the echoed value is not plain words, or the echo program,
// the temporary directory or an existing show-<name> file would make make
// behave differently (checked against the file system).
std::optional<std::string> probe_make_variable(std::string_view text,
                                               std::string_view name,
                                               const std::vector<std::string>& env);

} // namespace core
