/*
 * attr.h — compiler annotations shared by every module.
 */
#ifndef SL_ATTR_H
#define SL_ATTR_H

#define SL_NONNULL(...)		__attribute__((nonnull(__VA_ARGS__)))
#define SL_WUR			__attribute__((warn_unused_result))
#define SL_PRINTF(f, a)		__attribute__((format(printf, f, a)))
#define SL_UNUSED		__attribute__((unused))
#define SL_NORETURN		__attribute__((noreturn))
#define SL_LIKELY(x)		__builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x)		__builtin_expect(!!(x), 0)

#define SL_NELEM(a)		(sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b)		((a) < (b) ? (a) : (b))
#define SL_MAX(a, b)		((a) > (b) ? (a) : (b))

#endif /* SL_ATTR_H */
