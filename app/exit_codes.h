#pragma once

// Exit codes of the `diffss` command line, as documented in README.md.
namespace diffss::cli {
enum ExitCode : int {
    kExitOk = 0,            // everything done
    kExitFailed = 1,        // the command could not do its job
    kExitUsage = 2,         // bad command line
    kExitItemErrors = 3,    // finished, but some items (images) failed; see the report
};
} // namespace diffss::cli
