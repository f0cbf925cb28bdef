// SPDX-License-Identifier: BSD-2-Clause
// C++ classes with known layouts for tests/e2e/t71-layout-known.sh:
// single and multiple inheritance, a vtable pointer, a base whose tail
// padding the derived class may not reuse (Base is POD), static members.
#include <cstdio>

struct Base {          // 16 bytes: a hole of 7 after tag
	char tag;
	long id;
};

struct Derived : Base {  // Base at 0 (16), then flag at 16, count at 20: 24
	char flag;
	int count;
};

struct Other {
	int o;
};

struct Multi : Base, Other {  // Base 0..16, Other 16..20, x at 24: 32
	double x;
};

class Shape {          // vptr at 0, then kind at 8, area at 16, id at 24: 32
public:
	virtual ~Shape() {}
	virtual double size() const { return area; }
	char kind = 0;
	double area = 0;
	int id = 0;
	static int count;
};
int Shape::count;

class Circle : public Shape {  // Shape 0..32 (with its padding), r at 32: 40
public:
	double size() const override { return r; }
	double r = 1;
};

int main()
{
	Derived d{};
	Multi m{};
	Circle c;
	Shape *s = &c;
	std::printf("%zu %zu %zu %f\n", sizeof(d), sizeof(m), sizeof(c), s->size());
	return 0;
}
