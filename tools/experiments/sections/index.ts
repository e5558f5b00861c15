// The eight sections of issue 8, in report order.
import type { Section } from '../types';
import { kappa } from './kappa';
import { mainTable } from './main-table';
import { patterns } from './patterns';
import { priors } from './priors';
import { regulariser } from './regulariser';
import { sampleEfficiency } from './sample-efficiency';
import { storage } from './storage';
import { transfer } from './transfer';

export const SECTIONS: Section[] = [mainTable, priors, regulariser, kappa, sampleEfficiency, transfer, patterns, storage];
