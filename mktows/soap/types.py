"""The one description of the mktows WSDL types, per API version.

Names, types, order and occurrence follow the vendor's 2_2 schema; `since`/`until` mark what
later versions (2_3 to 3_1) added or removed. The served WSDL, request decoding and response encoding
are all derived from this module (see `schema.py`), so a change here changes all three.
"""

from __future__ import annotations

# The engine's vocabularies are the enumerations' one home: what it accepts is what the WSDL lists.
from mktows.engine.activities.types import ACTIVITY_TYPE_ENUMS
from mktows.engine.campaigns.runs import SOURCE_NAMES
from mktows.engine.leads.fields import FOREIGN_SYS_TYPES
from mktows.engine.leads.reads import KEY_TYPES
from mktows.engine.lists.imports import MODES as IMPORT_MODES
from mktows.engine.lists.members import LIST_KEY_TYPES
from mktows.engine.lists.members import OPERATIONS as LIST_OPERATIONS
from mktows.engine.objects.base import COMPARISONS, SYNC_OPERATIONS, WSDL_TYPE_NAMES
from mktows.soap.schema_model import el, enum, op, struct

SIMPLE_TYPES = [
    enum("LeadKeyRef", KEY_TYPES),
    enum("LeadSyncStatus", "CREATED UPDATED FAILED"),
    enum("ActivityType", ACTIVITY_TYPE_ENUMS),
    enum("ForeignSysType", FOREIGN_SYS_TYPES),
    enum("ReqCampSourceType", tuple(SOURCE_NAMES)),
    enum("ListKeyType", LIST_KEY_TYPES),
    enum("ListOperationType", LIST_OPERATIONS),
    enum("SyncOperationEnum", SYNC_OPERATIONS),
    enum("SyncStatusEnum", "CREATED UPDATED DELETED FAILED"),
    enum("LeadMergeStatusEnum", "MERGED FAILED"),
    enum("MObjStatusEnum", "CREATED UPDATED DELETED FAILED UNCHANGED SKIPPED"),
    enum("MObjectTypeEnum", WSDL_TYPE_NAMES),
    enum("ComparisonEnum", COMPARISONS),
    enum("ImportToListStatusEnum", "PROCESSING COMPLETE FAILED CANCELED"),
    enum("ImportToListModeEnum", IMPORT_MODES),
]

COMPLEX_TYPES = [
    struct(
        "ArrayOfString",
        fields=[
            el("stringItem", "xs:string", many=True),
        ],
    ),
    struct(
        "ArrayOfInteger",
        fields=[
            el("integerItem", "xs:int", many=True),
        ],
    ),
    struct(
        "ArrayOfActivityType",
        fields=[
            el("activityType", "ActivityType", many=True),
        ],
    ),
    struct(
        "ActivityTypeFilter",
        fields=[
            el("includeTypes", "ArrayOfActivityType", optional=True),
            el("excludeTypes", "ArrayOfActivityType", optional=True),
        ],
    ),
    struct(
        "Attrib",
        fields=[
            el("name", "xs:string"),
            el("value", "xs:string"),
        ],
    ),
    struct(
        "ArrayOfAttrib",
        fields=[
            el("attrib", "Attrib", many=True),
        ],
    ),
    struct(
        "Attribute",
        fields=[
            el("attrName", "xs:string"),
            el("attrType", "xs:string", optional=True, nillable=True),
            el("attrValue", "xs:string"),
        ],
    ),
    struct(
        "ArrayOfAttribute",
        fields=[
            el("attribute", "Attribute", many=True),
        ],
    ),
    struct(
        "TypeAttrib",
        fields=[
            el("attrType", "xs:string"),
            el("attrList", "ArrayOfAttrib", optional=True),
        ],
    ),
    struct(
        "ArrayOfTypeAttrib",
        fields=[
            el("typeAttrib", "TypeAttrib", many=True),
        ],
    ),
    struct(
        "ArrayOfKeyList",
        fields=[
            el("keyList", "ArrayOfAttribute", many=True),
        ],
    ),
    struct(
        "LeadRecord",
        fields=[
            el("Id", "xs:int", optional=True, nillable=True),
            el("Email", "xs:string", optional=True, nillable=True),
            el("ForeignSysPersonId", "xs:string", optional=True, nillable=True),
            el("ForeignSysType", "ForeignSysType", optional=True, nillable=True),
            el("leadAttributeList", "ArrayOfAttribute", optional=True, nillable=True),
        ],
    ),
    struct(
        "ArrayOfLeadRecord",
        fields=[
            el("leadRecord", "LeadRecord", many=True),
        ],
    ),
    struct(
        "ActivityRecord",
        fields=[
            el("id", "xs:int", until="2_3"),
            el("id", "xs:long", since="2_7", until="2_9"),
            el("id", "xs:long", optional=True, nillable=True, since="3_1"),
            el("marketoGUID", "xs:string", since="3_1"),
            el("activityDateTime", "xs:dateTime"),
            el("activityType", "xs:string"),
            el("mktgAssetName", "xs:string", optional=True),
            el("activityAttributes", "ArrayOfAttribute", optional=True, nillable=True),
            el("campaign", "xs:string", optional=True, nillable=True),
            el("personName", "xs:string", optional=True, nillable=True),
            el("mktPersonId", "xs:string"),
            el("foreignSysId", "xs:string", optional=True, nillable=True),
            el("orgName", "xs:string", optional=True, nillable=True),
            el("foreignSysOrgId", "xs:string", optional=True, nillable=True),
        ],
    ),
    struct(
        "CampaignRecord",
        fields=[
            el("id", "xs:int"),
            el("name", "xs:string"),
            el("description", "xs:string"),
        ],
    ),
    struct(
        "ArrayOfCampaignRecord",
        fields=[
            el("campaignRecord", "CampaignRecord", many=True),
        ],
    ),
    struct(
        "LeadChangeRecord",
        fields=[
            el("id", "xs:int", until="2_3"),
            el("id", "xs:long", since="2_7", until="2_9"),
            el("id", "xs:long", optional=True, nillable=True, since="3_1"),
            el("marketoGUID", "xs:string", since="3_1"),
            el("activityDateTime", "xs:dateTime"),
            el("activityType", "xs:string"),
            el("mktgAssetName", "xs:string", optional=True, nillable=True),
            el("activityAttributes", "ArrayOfAttribute", optional=True, nillable=True),
            el("campaign", "xs:string", optional=True),
            el("mktPersonId", "xs:string"),
        ],
    ),
    struct(
        "ArrayOfLeadChangeRecord",
        fields=[
            el("leadChangeRecord", "LeadChangeRecord", many=True),
        ],
    ),
    struct(
        "ArrayOfActivityRecord",
        fields=[
            el("activityRecord", "ActivityRecord", many=True),
        ],
    ),
    struct(
        "LeadKey",
        fields=[
            el("keyType", "LeadKeyRef"),
            el("keyValue", "xs:string"),
        ],
    ),
    struct(
        "ArrayOfLeadKey",
        fields=[
            el("leadKey", "LeadKey", many=True),
        ],
    ),
    struct(
        "LeadStatus",
        fields=[
            el("leadKey", "LeadKey"),
            el("status", "xs:boolean"),
        ],
    ),
    struct(
        "ArrayOfLeadStatus",
        fields=[
            el("leadStatus", "LeadStatus", many=True),
        ],
    ),
    struct(
        "ListKey",
        fields=[
            el("keyType", "ListKeyType"),
            el("keyValue", "xs:string"),
        ],
    ),
    struct(
        "MObject",
        fields=[
            el("type", "xs:string"),
            el("id", "xs:int", optional=True),
            el("externalKey", "Attrib", optional=True),
            el("createdAt", "xs:dateTime", optional=True),
            el("updatedAt", "xs:dateTime", optional=True),
            el("attribList", "ArrayOfAttrib", optional=True),
            el("typeAttribList", "ArrayOfTypeAttrib", optional=True),
            el("associationList", "ArrayOfMObjAssociation", optional=True),
        ],
    ),
    struct(
        "ArrayOfMObject",
        fields=[
            el("mObject", "MObject", many=True),
        ],
    ),
    struct(
        "MObjAssociation",
        fields=[
            el("mObjType", "xs:string"),
            el("id", "xs:int", optional=True),
            el("externalKey", "Attrib", optional=True),
        ],
    ),
    struct(
        "ArrayOfMObjAssociation",
        fields=[
            el("mObjAssociation", "MObjAssociation", many=True),
        ],
    ),
    struct(
        "MObjStatus",
        fields=[
            el("id", "xs:int", until="2_3"),
            el("id", "xs:int", nillable=True, since="2_7"),
            el("externalKey", "Attrib", optional=True),
            el("status", "MObjStatusEnum"),
            el("error", "xs:string", optional=True),
        ],
    ),
    struct(
        "ArrayOfMObjStatus",
        fields=[
            el("mObjStatus", "MObjStatus", many=True),
        ],
    ),
    struct(
        "MObjCriteria",
        fields=[
            el("attrName", "xs:string"),
            el("comparison", "ComparisonEnum"),
            el("attrValue", "xs:anySimpleType"),
        ],
    ),
    struct(
        "ArrayOfMObjCriteria",
        fields=[
            el("mObjCriteria", "MObjCriteria", many=True),
        ],
    ),
    struct(
        "MObjectMetadata",
        fields=[
            el("name", "xs:string"),
            el("description", "xs:string", nillable=True),
            el("isCustom", "xs:boolean"),
            el("isVirtual", "xs:boolean"),
            el("fieldList", "ArrayOfMObjFieldMetadata"),
            el("updatedAt", "xs:dateTime"),
        ],
    ),
    struct(
        "MObjFieldMetadata",
        fields=[
            el("name", "xs:string"),
            el("description", "xs:string", nillable=True),
            el("displayName", "xs:string", nillable=True),
            el("sourceObject", "xs:string", nillable=True),
            el("dataType", "xs:string"),
            el("size", "xs:int", nillable=True),
            el("isReadonly", "xs:boolean"),
            el("isUpdateBlocked", "xs:boolean"),
            el("isName", "xs:boolean", nillable=True),
            el("isPrimaryKey", "xs:boolean"),
            el("isCustom", "xs:boolean"),
            el("isDynamic", "xs:boolean"),
            el("dynamicFieldRef", "xs:string", nillable=True),
            el("updatedAt", "xs:dateTime"),
        ],
    ),
    struct(
        "ArrayOfMObjFieldMetadata",
        fields=[
            el("field", "MObjFieldMetadata", many=True),
        ],
    ),
    struct(
        "StreamPosition",
        fields=[
            el("latestCreatedAt", "xs:dateTime", optional=True, nillable=True),
            el("oldestCreatedAt", "xs:dateTime", optional=True, nillable=True),
            el("activityCreatedAt", "xs:dateTime", optional=True, nillable=True),
            el("offset", "xs:string", optional=True, nillable=True),
        ],
    ),
    struct(
        "SyncStatus",
        fields=[
            el("leadId", "xs:int"),
            el("status", "LeadSyncStatus"),
            el("error", "xs:string", optional=True, nillable=True),
        ],
    ),
    struct(
        "ArrayOfSyncStatus",
        fields=[
            el("syncStatus", "SyncStatus", many=True),
        ],
    ),
    struct(
        "ArrayOfBase64Binary",
        fields=[
            el("base64Binary", "xs:base64Binary", many=True),
        ],
    ),
    struct(
        "VersionedItem",
        fields=[
            el("id", "xs:integer"),
            el("name", "xs:string"),
            el("type", "xs:string", optional=True, nillable=True),
            el("description", "xs:string", optional=True, nillable=True),
            el("timestamp", "xs:dateTime"),
        ],
    ),
    struct(
        "ArrayOfVersionedItem",
        fields=[
            el("versionedItem", "VersionedItem", many=True),
        ],
    ),
    struct(
        "CustomObj",
        fields=[
            el("customObjKeyList", "ArrayOfAttribute", optional=True, nillable=True),
            el("customObjAttributeList", "ArrayOfAttribute", optional=True, nillable=True),
        ],
    ),
    struct(
        "ArrayOfCustomObj",
        fields=[
            el("customObj", "CustomObj", many=True),
        ],
    ),
    struct(
        "SyncCustomObjStatus",
        fields=[
            el("objTypeName", "xs:string"),
            el("customObjKeyList", "ArrayOfAttribute", optional=True, nillable=True),
            el("status", "SyncStatusEnum"),
            el("error", "xs:string", optional=True, nillable=True),
        ],
    ),
    struct(
        "ArrayOfSyncCustomObjStatus",
        fields=[
            el("syncCustomObjStatus", "SyncCustomObjStatus", many=True),
        ],
    ),
    struct(
        "MergeStatus",
        fields=[
            el("winningLeadId", "xs:int", optional=True, nillable=True),
            el("losingLeadIdList", "ArrayOfInteger", optional=True, nillable=True),
            el("status", "LeadMergeStatusEnum"),
            el("error", "xs:string", optional=True, nillable=True),
        ],
    ),
    struct("LeadSelector", abstract=True),
    struct(
        "LastUpdateAtSelector",
        base="LeadSelector",
        fields=[
            el("latestUpdatedAt", "xs:dateTime", optional=True, nillable=True),
            el("oldestUpdatedAt", "xs:dateTime"),
        ],
    ),
    struct(
        "StaticListSelector",
        base="LeadSelector",
        fields=[
            el("staticListName", "xs:string", optional=True, nillable=True),
            el("staticListId", "xs:int", optional=True, nillable=True),
        ],
    ),
    struct(
        "LeadKeySelector",
        base="LeadSelector",
        fields=[
            el("keyType", "LeadKeyRef"),
            el("keyValues", "ArrayOfString"),
        ],
    ),
    struct(
        "Tag",
        fields=[
            el("type", "xs:string", optional=True),
            el("values", "ArrayOfString", optional=True),
        ],
    ),
    struct(
        "ArrayOfTag",
        fields=[
            el("tag", "Tag", many=True),
        ],
    ),
    struct(
        "ProgressionStatus",
        fields=[
            el("progressionStatus", "ArrayOfAttrib", optional=True),
        ],
    ),
    struct(
        "ArrayOfProgressionStatus",
        fields=[
            el("progressionStatusItem", "ProgressionStatus", many=True),
        ],
    ),
    struct(
        "TagStatus",
        fields=[
            el("tagValue", "xs:string"),
            el("statusList", "ArrayOfProgressionStatus"),
        ],
    ),
    struct(
        "ArrayOfTagStatus",
        fields=[
            el("tagStatus", "TagStatus", many=True),
        ],
    ),
    struct(
        "ParamsDeleteMObjects",
        fields=[
            el("mObjectList", "ArrayOfMObject"),
        ],
    ),
    struct(
        "ParamsDescribeMObject",
        fields=[
            el("objectName", "xs:string"),
        ],
    ),
    struct(
        "ParamsGetMObjects",
        fields=[
            el("type", "xs:string"),
            el("id", "xs:int", optional=True),
            el("externalKey", "Attrib", optional=True),
            el("mObjCriteriaList", "ArrayOfMObjCriteria", optional=True),
            el("mObjAssociationList", "ArrayOfMObjAssociation", optional=True),
            el("includeDetails", "xs:boolean", optional=True),
            el("streamPosition", "xs:string", optional=True),
        ],
    ),
    struct("ParamsListMObjects"),
    struct(
        "ParamsSyncMObjects",
        fields=[
            el("mObjectList", "ArrayOfMObject"),
            el("operation", "SyncOperationEnum"),
        ],
    ),
    struct(
        "ParamsGetCampaignsForSource",
        fields=[
            el("source", "ReqCampSourceType"),
            el("name", "xs:string", optional=True, nillable=True),
            el("exactName", "xs:boolean", optional=True, nillable=True),
        ],
    ),
    struct(
        "ParamsGetImportToListStatus",
        fields=[
            el("programName", "xs:string", optional=True),
            el("listName", "xs:string", optional=True),
        ],
    ),
    struct(
        "ParamsGetLead",
        fields=[
            el("leadKey", "LeadKey"),
        ],
    ),
    struct(
        "ParamsGetLeadActivity",
        fields=[
            el("leadKey", "LeadKey"),
            el("activityFilter", "ActivityTypeFilter", optional=True, nillable=True),
            el("startPosition", "StreamPosition", optional=True, nillable=True),
            el("batchSize", "xs:int", optional=True, nillable=True),
        ],
    ),
    struct(
        "ParamsGetLeadChanges",
        fields=[
            el("startPosition", "StreamPosition"),
            el("activityFilter", "ActivityTypeFilter", optional=True, nillable=True),
            el("activityNameFilter", "ArrayOfString", optional=True, nillable=True, since="2_3"),
            el("batchSize", "xs:int", optional=True, nillable=True),
            el("leadSelector", "LeadSelector", optional=True),
        ],
    ),
    struct(
        "ParamsGetMultipleLeads",
        fields=[
            el("leadSelector", "LeadSelector", optional=True),
            el("lastUpdatedAt", "xs:dateTime", optional=True),
            el("streamPosition", "xs:string", optional=True, nillable=True),
            el("batchSize", "xs:int", optional=True, nillable=True),
            el("includeAttributes", "ArrayOfString", optional=True),
        ],
    ),
    struct(
        "ParamsImportToList",
        fields=[
            el("programName", "xs:string"),
            el("importFileHeader", "xs:string"),
            el("importFileRows", "ArrayOfString"),
            el("importListMode", "ImportToListModeEnum"),
            el("listName", "xs:string"),
            el("clearList", "xs:boolean"),
            el("campaignName", "xs:string", nillable=True),
        ],
    ),
    struct(
        "ParamsListOperation",
        fields=[
            el("listOperation", "ListOperationType"),
            el("listKey", "ListKey"),
            el("listMemberList", "ArrayOfLeadKey"),
            el("strict", "xs:boolean", optional=True, nillable=True),
            el("skipActivityLog", "xs:boolean", optional=True, nillable=True, until="2_2"),
        ],
    ),
    struct(
        "ParamsRequestCampaign",
        fields=[
            el("source", "ReqCampSourceType"),
            el("campaignId", "xs:int", optional=True, nillable=True),
            el("leadList", "ArrayOfLeadKey", optional=True, nillable=True),
            el("programName", "xs:string", optional=True, nillable=True),
            el("campaignName", "xs:string", optional=True, nillable=True),
            el("programTokenList", "ArrayOfAttrib", optional=True, nillable=True),
        ],
    ),
    struct(
        "ParamsScheduleCampaign",
        fields=[
            el("programName", "xs:string"),
            el("cloneToProgramName", "xs:string", optional=True, nillable=True, since="3_1"),
            el("campaignName", "xs:string"),
            el("campaignRunAt", "xs:dateTime", optional=True, nillable=True),
            el("programTokenList", "ArrayOfAttrib", optional=True, nillable=True),
        ],
    ),
    struct(
        "ParamsSyncLead",
        fields=[
            el("leadRecord", "LeadRecord"),
            el("returnLead", "xs:boolean"),
            el("marketoCookie", "xs:string", optional=True, nillable=True),
            el("moveCookie", "xs:boolean", optional=True, nillable=True, since="3_1"),
        ],
    ),
    struct(
        "ParamsSyncMultipleLeads",
        fields=[
            el("leadRecordList", "ArrayOfLeadRecord"),
            el("dedupEnabled", "xs:boolean", optional=True, nillable=True),
        ],
    ),
    struct(
        "ParamsSyncCustomObjects",
        fields=[
            el("objTypeName", "xs:string"),
            el("customObjList", "ArrayOfCustomObj"),
            el("operation", "SyncOperationEnum", optional=True, nillable=True),
        ],
    ),
    struct(
        "ParamsDeleteCustomObjects",
        fields=[
            el("objTypeName", "xs:string"),
            el("customObjKeyLists", "ArrayOfKeyList"),
        ],
    ),
    struct(
        "ParamsGetCustomObjects",
        fields=[
            el("objTypeName", "xs:string"),
            el("streamPosition", "xs:string", optional=True, nillable=True),
            el("batchSize", "xs:int", optional=True, nillable=True),
            el("customObjKeyList", "ArrayOfAttribute", optional=True, nillable=True),
            el("includeAttributes", "ArrayOfString"),
        ],
    ),
    struct(
        "ParamsMergeLeads",
        fields=[
            el("winningLeadKeyList", "ArrayOfAttribute"),
            el("losingLeadKeyLists", "ArrayOfKeyList"),
            el("mergeInSales", "xs:boolean", optional=True, since="2_7"),
        ],
    ),
    struct(
        "ParamsGetChannels",
        fields=[
            el("tag", "Tag", optional=True),
        ],
    ),
    struct(
        "ParamsGetTags",
        fields=[
            el("tagList", "ArrayOfTag", optional=True),
        ],
    ),
    struct(
        "ResultDeleteMObjects",
        fields=[
            el("mObjStatusList", "ArrayOfMObjStatus"),
        ],
    ),
    struct(
        "ResultDescribeMObject",
        fields=[
            el("metadata", "MObjectMetadata"),
        ],
    ),
    struct(
        "ResultGetMObjects",
        fields=[
            el("returnCount", "xs:int"),
            el("hasMore", "xs:boolean"),
            el("newStreamPosition", "xs:string"),
            el("mObjectList", "ArrayOfMObject", optional=True),
        ],
    ),
    struct(
        "ResultListMObjects",
        fields=[
            el("objects", "xs:string", many=True),
        ],
    ),
    struct(
        "ResultSyncMObjects",
        fields=[
            el("mObjStatusList", "ArrayOfMObjStatus"),
        ],
    ),
    struct(
        "LeadActivityList",
        fields=[
            el("returnCount", "xs:int"),
            el("remainingCount", "xs:int"),
            el("newStartPosition", "StreamPosition"),
            el("activityRecordList", "ArrayOfActivityRecord", optional=True, nillable=True),
        ],
    ),
    struct(
        "ResultGetCampaignsForSource",
        fields=[
            el("returnCount", "xs:int"),
            el("campaignRecordList", "ArrayOfCampaignRecord", optional=True, nillable=True),
        ],
    ),
    struct(
        "ResultGetImportToListStatus",
        fields=[
            el("status", "ImportToListStatusEnum"),
            el("startedTime", "xs:dateTime", optional=True, nillable=True),
            el("endedTime", "xs:dateTime", optional=True, nillable=True),
            el("estimatedTime", "xs:int", optional=True, nillable=True),
            el("estimatedRows", "xs:int", optional=True, nillable=True),
            el("rowsImported", "xs:int", optional=True, nillable=True),
            el("rowsFailed", "xs:int", optional=True, nillable=True),
            el("rowsIgnored", "xs:int", optional=True, nillable=True),
            el("importSummary", "xs:string", optional=True, nillable=True),
        ],
    ),
    struct(
        "ResultGetLeadChanges",
        fields=[
            el("returnCount", "xs:int"),
            el("remainingCount", "xs:int"),
            el("newStartPosition", "StreamPosition"),
            el("leadChangeRecordList", "ArrayOfLeadChangeRecord", optional=True, nillable=True),
        ],
    ),
    struct(
        "ResultGetLead",
        fields=[
            el("count", "xs:int"),
            el("leadRecordList", "ArrayOfLeadRecord", optional=True, nillable=True),
        ],
    ),
    struct(
        "ResultListOperation",
        fields=[
            el("success", "xs:boolean"),
            el("statusList", "ArrayOfLeadStatus", optional=True, nillable=True),
        ],
    ),
    struct(
        "ResultGetMultipleLeads",
        fields=[
            el("returnCount", "xs:int"),
            el("remainingCount", "xs:int"),
            el("newStreamPosition", "xs:string"),
            el("leadRecordList", "ArrayOfLeadRecord", optional=True, nillable=True),
        ],
    ),
    struct(
        "ResultImportToList",
        fields=[
            el("importStatus", "ImportToListStatusEnum"),
        ],
    ),
    struct(
        "ResultRequestCampaign",
        fields=[
            el("success", "xs:boolean"),
        ],
    ),
    struct(
        "ResultScheduleCampaign",
        fields=[
            el("success", "xs:boolean"),
        ],
    ),
    struct(
        "ResultSyncLead",
        fields=[
            el("leadId", "xs:int"),
            el("syncStatus", "SyncStatus"),
            el("leadRecord", "LeadRecord", optional=True, nillable=True),
        ],
    ),
    struct(
        "ResultSyncMultipleLeads",
        fields=[
            el("syncStatusList", "ArrayOfSyncStatus"),
        ],
    ),
    struct(
        "ResultSyncCustomObjects",
        fields=[
            el("syncCustomObjStatusList", "ArrayOfSyncCustomObjStatus"),
        ],
    ),
    struct(
        "ResultDeleteCustomObjects",
        fields=[
            el("deleteCustomObjStatusList", "ArrayOfSyncCustomObjStatus"),
        ],
    ),
    struct(
        "ResultGetCustomObjects",
        fields=[
            el("objTypeName", "xs:string"),
            el("returnCount", "xs:int"),
            el("remainingCount", "xs:int"),
            el("newStreamPosition", "xs:string"),
            el("customObjList", "ArrayOfCustomObj", optional=True, nillable=True),
        ],
    ),
    struct(
        "ResultMergeLeads",
        fields=[
            el("mergeStatus", "MergeStatus"),
        ],
    ),
    struct(
        "ResultGetChannels",
        fields=[
            el("tags", "ArrayOfTagStatus"),
        ],
    ),
    struct(
        "ResultGetTags",
        fields=[
            el("tagList", "ArrayOfTag"),
        ],
    ),
    struct(
        "SuccessDeleteMObjects",
        fields=[
            el("result", "ResultDeleteMObjects"),
        ],
    ),
    struct(
        "SuccessDescribeMObject",
        fields=[
            el("result", "ResultDescribeMObject"),
        ],
    ),
    struct(
        "SuccessGetMObjects",
        fields=[
            el("result", "ResultGetMObjects"),
        ],
    ),
    struct(
        "SuccessListMObjects",
        fields=[
            el("result", "ResultListMObjects"),
        ],
    ),
    struct(
        "SuccessSyncMObjects",
        fields=[
            el("result", "ResultSyncMObjects"),
        ],
    ),
    struct(
        "SuccessGetCampaignsForSource",
        fields=[
            el("result", "ResultGetCampaignsForSource"),
        ],
    ),
    struct(
        "SuccessGetImportToListStatus",
        fields=[
            el("result", "ResultGetImportToListStatus"),
        ],
    ),
    struct(
        "SuccessGetLead",
        fields=[
            el("result", "ResultGetLead"),
        ],
    ),
    struct(
        "SuccessGetLeadActivity",
        fields=[
            el("leadActivityList", "LeadActivityList"),
        ],
    ),
    struct(
        "SuccessGetLeadChanges",
        fields=[
            el("result", "ResultGetLeadChanges"),
        ],
    ),
    struct(
        "SuccessGetMultipleLeads",
        fields=[
            el("result", "ResultGetMultipleLeads"),
        ],
    ),
    struct(
        "SuccessImportToList",
        fields=[
            el("result", "ResultImportToList"),
        ],
    ),
    struct(
        "SuccessListOperation",
        fields=[
            el("result", "ResultListOperation"),
        ],
    ),
    struct(
        "SuccessRequestCampaign",
        fields=[
            el("result", "ResultRequestCampaign"),
        ],
    ),
    struct(
        "SuccessScheduleCampaign",
        fields=[
            el("result", "ResultScheduleCampaign"),
        ],
    ),
    struct(
        "SuccessSyncLead",
        fields=[
            el("result", "ResultSyncLead"),
        ],
    ),
    struct(
        "SuccessSyncMultipleLeads",
        fields=[
            el("result", "ResultSyncMultipleLeads"),
        ],
    ),
    struct(
        "SuccessSyncCustomObjects",
        fields=[
            el("result", "ResultSyncCustomObjects"),
        ],
    ),
    struct(
        "SuccessDeleteCustomObjects",
        fields=[
            el("result", "ResultDeleteCustomObjects"),
        ],
    ),
    struct(
        "SuccessGetCustomObjects",
        fields=[
            el("result", "ResultGetCustomObjects"),
        ],
    ),
    struct(
        "SuccessMergeLeads",
        fields=[
            el("result", "ResultMergeLeads"),
        ],
    ),
    struct(
        "SuccessGetChannels",
        fields=[
            el("result", "ResultGetChannels"),
        ],
    ),
    struct(
        "SuccessGetTags",
        fields=[
            el("result", "ResultGetTags"),
        ],
    ),
    struct(
        "AuthenticationHeaderInfo",
        fields=[
            el("mktowsUserId", "xs:string"),
            el("requestSignature", "xs:string"),
            el("requestTimestamp", "xs:string"),
            el("partnerId", "xs:string", optional=True, since="3_1"),
            el("audit", "xs:string", optional=True),
            el("mode", "xs:int", optional=True),
        ],
    ),
    struct(
        "MktowsContextHeaderInfo",
        fields=[
            el("targetWorkspace", "xs:string"),
        ],
    ),
]

# The 23 operations in WSDL order, each with our own one-line description. Messages,
# global elements, port type and binding entries are all derived from this list.
OPERATIONS = [
    op("deleteMObjects", "Deletes opportunities or opportunity person roles."),
    op("describeMObject", "Describes the fields of a Marketo object."),
    op("getMObjects", "Queries programs, opportunities or opportunity person roles."),
    op("syncMObjects", "Inserts, updates or upserts Marketo objects."),
    op("getCampaignsForSource", "Lists the smart campaigns a source may request."),
    op("getImportToListStatus", "Reports on the last import into a static list."),
    op("getLead", "Returns one lead, or every lead sharing a key value."),
    op("getLeadActivity", "Returns the activity history of one lead, newest first."),
    op("getLeadChanges", "Returns activities across leads, oldest first."),
    op("getMultipleLeads", "Pages through leads chosen by keys, list or update time."),
    op("importToList", "Imports CSV rows into a program's static list."),
    op("listMObjects", "Lists the objects describeMObject knows."),
    op("listOperation", "Adds, removes or checks leads in a static list."),
    op("requestCampaign", "Runs leads through a requestable smart campaign."),
    op("scheduleCampaign", "Schedules a batch smart campaign."),
    op("syncLead", "Creates or updates one lead.", context_header=True),
    op("syncMultipleLeads", "Creates or updates several leads."),
    op("syncCustomObjects", "Inserts, updates or upserts custom object records."),
    op("deleteCustomObjects", "Deletes custom object records."),
    op("getCustomObjects", "Reads custom object records."),
    op("mergeLeads", "Merges losing leads into a winning lead."),
    op("getChannels", "Lists channels with their progression statuses."),
    op("getTags", "Lists tag types with their allowed values."),
]
