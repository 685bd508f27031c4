/*
 * lru.h — an intrusive least-recently-used list: an entry embeds a
 * struct sl_lru_node and is found again from it with SL_LRU_ENTRY; the
 * list knows its newest (head) and its oldest (tail), the next victim.
 * No allocation and no lock: the caches that use it hold their own.
 */
#ifndef SL_LIB_LRU_H
#define SL_LIB_LRU_H

#include <stddef.h>

struct sl_lru_node {
	struct sl_lru_node	*prev, *next;	/* towards head, tail */
};

struct sl_lru {
	struct sl_lru_node	*head, *tail;	/* newest, oldest */
};

/* The entry of type holding node as its member. */
#define SL_LRU_ENTRY(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

/* Take n out of l (it must be in it). */
static inline void
sl_lru_unlink(struct sl_lru *l, struct sl_lru_node *n)
{
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
}

/* Make n, not in l, its newest. */
static inline void
sl_lru_push(struct sl_lru *l, struct sl_lru_node *n)
{
	n->prev = NULL;
	n->next = l->head;
	if (l->head != NULL)
		l->head->prev = n;
	l->head = n;
	if (l->tail == NULL)
		l->tail = n;
}

#endif
