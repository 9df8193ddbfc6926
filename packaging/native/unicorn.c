/*
 * The `unicorn` program of the native build (packaging/publish --native). Unicorn's code is libunicorn.so beside
 * this file, compiled ahead of time; the workers forked from the zygote load the same file, so the master and every
 * worker share one copy of its pages. This only finds the library and calls its entry with the command line.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static const char name[] = "libunicorn.so";
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - sizeof name);
    if (n < 0) {
        perror("unicorn: /proc/self/exe");
        return 1;
    }
    path[n] = '\0';
    strcpy(strrchr(path, '/') + 1, name);
    void *library = dlopen(path, RTLD_NOW);
    if (library == NULL) {
        fprintf(stderr, "unicorn: %s\n", dlerror());
        return 1;
    }
    int (*entry)(int, char **) = (int (*)(int, char **))dlsym(library, "unicorn_main");
    if (entry == NULL) {
        fprintf(stderr, "unicorn: %s\n", dlerror());
        return 1;
    }
    return entry(argc, argv);
}
