/* ifs_schema: see ifs_schema.h. */
#include "ifs_schema.h"

#include <string.h>

#define S ODATA_STRING
#define N ODATA_DECIMAL
#define D ODATA_DATE
#define T ODATA_DATETIME

static const odata_member_t PO_MEMBERS[] = {
    {"OrderNo", S},   {"Company", S},      {"VendorNo", S},     {"VendorName", S},
    {"OrderDate", D}, {"ChangedDate", T},  {"Objstate", S},     {"CurrencyCode", S},
    {"NetAmtCurr", N}, {"CodeA", S},       {"CodeB", S},        {"Contract", S},
    {"BuyerCode", S}, {"AuthorizeCode", S},
};
static const bool PO_WRITABLE[] = {
    false, false, false, false, false, false, false, false, false, true, true, true, true, true,
};
static const ifs_action_t PO_ACTIONS[] = {
    {"Approve", "Authorized"}, {"Reject", "Rejected"}, {"Release", "Released"}, {NULL, NULL},
};

static const odata_member_t INV_MEMBERS[] = {
    {"InvoiceId", S},   {"Company", S},  {"InvoiceNo", S},   {"Identity", S},
    {"IdentityName", S}, {"InvoiceDate", D}, {"DueDate", D}, {"ChangedDate", T},
    {"Objstate", S},    {"Currency", S}, {"GrossAmount", N}, {"NetAmount", N},
    {"CodeA", S},       {"CodeB", S},
};
static const bool INV_WRITABLE[] = {
    false, false, false, false, false, false, true, false, false, false, false, false, true, true,
};
static const ifs_action_t INV_ACTIONS[] = {
    {"Approve", "Approved"}, {"Reject", "Rejected"}, {NULL, NULL},
};

static const odata_member_t SUP_MEMBERS[] = {
    {"VendorNo", S}, {"VendorName", S}, {"ChangedDate", T},
};
static const bool SUP_WRITABLE[] = {false, true, false};
static const ifs_action_t SUP_ACTIONS[] = {{NULL, NULL}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const ifs_set_def_t SETS[IFS_NSETS] = {
    {IFS_PO, "PurchaseOrderHandling", "PurchaseOrderSet", "PurchaseOrder",
     {PO_MEMBERS, COUNT(PO_MEMBERS)}, PO_WRITABLE, PO_ACTIONS, 5, 6},
    {IFS_INVOICE, "ManSuppInvoiceHandling", "ManSuppInvoiceSet", "ManSuppInvoice",
     {INV_MEMBERS, COUNT(INV_MEMBERS)}, INV_WRITABLE, INV_ACTIONS, 7, 8},
    {IFS_SUPPLIER, "SuppliersHandling", "SupplierInfoGeneralSet", "SupplierInfoGeneral",
     {SUP_MEMBERS, COUNT(SUP_MEMBERS)}, SUP_WRITABLE, SUP_ACTIONS, 2, -1},
};

_Static_assert(COUNT(PO_MEMBERS) == COUNT(PO_WRITABLE), "PO writable flags");
_Static_assert(COUNT(INV_MEMBERS) == COUNT(INV_WRITABLE), "invoice writable flags");
_Static_assert(COUNT(SUP_MEMBERS) == COUNT(SUP_WRITABLE), "supplier writable flags");

const ifs_set_def_t *ifs_set_def(ifs_set_id_t id)
{
    return id < IFS_NSETS ? &SETS[id] : NULL;
}

const ifs_set_def_t *ifs_set_find(const char *projection, const char *set)
{
    for (int i = 0; i < IFS_NSETS; i++)
        if (strcmp(SETS[i].set, set) == 0 &&
            (!projection || strcmp(SETS[i].projection, projection) == 0))
            return &SETS[i];
    return NULL;
}

const char *ifs_action_state(const ifs_set_def_t *d, const char *action)
{
    for (const ifs_action_t *a = d->actions; a->name; a++)
        if (strcmp(a->name, action) == 0)
            return a->state;
    return NULL;
}
