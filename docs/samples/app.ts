// Stand-ins for an app's own code and tables in the docs' samples (`./app`).
import { pgTable, text } from 'drizzle-orm/pg-core';

export const orders = pgTable('orders', { id: text('id').primaryKey(), file: text('file').notNull(), decision: text('decision') });
export const users = pgTable('users', { id: text('id').primaryKey(), email: text('email').notNull() });

export declare function countPages(file: string): Promise<number>;
export declare function readPage(file: string, page: number): Promise<{ id: string; file: string }[]>;
export declare function notifyWarehouse(file: string): Promise<void>;
