// Built as libcurl.so.4 in a directory of its own: a library of that name without any of
// libcurl's functions. A process whose LD_LIBRARY_PATH names that directory sees dlopen
// succeed and dlsym fail, the way an unusable libcurl would.
extern "C" int jostle_fake_libcurl() { return 0; }
