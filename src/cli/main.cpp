#include "cli/main.hpp"

namespace cli {

int run_main(int, char**) { return 0; }

} // namespace cli
