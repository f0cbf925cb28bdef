// SPDX-License-Identifier: BSD-2-Clause
/* C++ workload of t96: objects made with operator new inside a namespace
 * and a template, so frames need demangling and sites need attributing
 * past operator new. */
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace shop {

struct Item {
	std::string name;
	long price[8];
};

template <typename T> struct Registry {
	std::vector<T *> all;
	__attribute__((noinline)) T *make(const char *name)
	{
		T *t = new T;           /* operator new, then this frame */
		t->name = name;
		all.push_back(t);
		return t;
	}
};

__attribute__((noinline)) void fill(Registry<Item> &r, int n)
{
	for (int i = 0; i < n; i++)
		r.make("an item with a name longer than sso");
}

} // namespace shop

int main()
{
	static shop::Registry<shop::Item> reg;
	try {
		shop::fill(reg, 3000);
	} catch (const std::exception &e) {
		std::puts(e.what());
		return 1;
	}
	return 0;
}
